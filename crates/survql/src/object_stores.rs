//! Tables on Amazon S3 and S3-compatible servers (MinIO, Ceph, moto): `s3://bucket/path` in
//! `-t NAME=s3://...`, in `CREATE EXTERNAL TABLE ... LOCATION 's3://...'` and in
//! `COPY ... TO 's3://...'`. The store of a bucket is made on first use from the usual AWS
//! environment variables, as datafusion-cli does: `AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION` / `AWS_DEFAULT_REGION`,
//! `AWS_ENDPOINT_URL` (an S3-compatible server; plain `http://` endpoints are allowed, as they
//! are local servers), `AWS_SKIP_SIGNATURE` (public buckets), and the container and
//! web-identity credentials of ECS and EKS (object_store's `AmazonS3Builder::from_env`).

use std::sync::Arc;

use datafusion::common::{exec_datafusion_err, Result};
use datafusion::execution::object_store::{DefaultObjectStoreRegistry, ObjectStoreRegistry};
use object_store::aws::AmazonS3Builder;
use object_store::ObjectStore;
use url::Url;

/// DataFusion's registry (local files, stores registered by hand) plus S3 stores made when a
/// query first names a bucket.
#[derive(Debug, Default)]
pub struct CloudStores {
    known: DefaultObjectStoreRegistry,
}

impl ObjectStoreRegistry for CloudStores {
    fn register_store(
        &self,
        url: &Url,
        store: Arc<dyn ObjectStore>,
    ) -> Option<Arc<dyn ObjectStore>> {
        self.known.register_store(url, store)
    }

    fn deregister_store(&self, url: &Url) -> Result<Arc<dyn ObjectStore>> {
        self.known.deregister_store(url)
    }

    fn get_store(&self, url: &Url) -> Result<Arc<dyn ObjectStore>> {
        if let Ok(store) = self.known.get_store(url) {
            return Ok(store);
        }
        match url.scheme() {
            "s3" | "s3a" => {
                let store = s3_store(url)?;
                self.known.register_store(url, Arc::clone(&store));
                Ok(store)
            }
            // DataFusion's own error ("No suitable object store found for ...").
            _ => self.known.get_store(url),
        }
    }
}

/// The store of `url`'s bucket, configured from the environment.
fn s3_store(url: &Url) -> Result<Arc<dyn ObjectStore>> {
    let bucket = url.host_str().filter(|b| !b.is_empty()).ok_or_else(|| {
        exec_datafusion_err!("{url}: an S3 location needs a bucket (s3://BUCKET/PATH)")
    })?;
    let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
    let endpoint = std::env::var("AWS_ENDPOINT_URL").or_else(|_| std::env::var("AWS_ENDPOINT"));
    if endpoint.is_ok_and(|e| e.starts_with("http://")) {
        builder = builder.with_allow_http(true);
    }
    let store = builder
        .build()
        .map_err(|e| exec_datafusion_err!("{url}: cannot open the S3 bucket '{bucket}': {e}"))?;
    Ok(Arc::new(store))
}

/// Whether a table location is an object-store URL rather than a local path.
pub fn is_url(location: &str) -> bool {
    Url::parse(location).is_ok_and(|u| matches!(u.scheme(), "s3" | "s3a"))
}
