//! Tables on S3: a moto server (an S3-compatible server from PyPI) started by the test on
//! 127.0.0.1, credentials and endpoint from the usual AWS environment variables.

use super::*;
use std::io::Read;
use std::net::{TcpListener, TcpStream};

/// `moto_server`: $SURVQL_MOTO_SERVER, the workspace's .venv (made by .ci/run), or PATH.
fn moto_server() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("SURVQL_MOTO_SERVER") {
        return Some(PathBuf::from(p));
    }
    let venv = workspace().join(".venv/bin/moto_server");
    if venv.exists() {
        return Some(venv);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("moto_server"))
            .find(|p| p.exists())
    })
}

/// The server, killed when dropped.
struct Moto(std::process::Child, u16);
impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_moto(server: &Path) -> Moto {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(server)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("moto_server starts");
    let moto = Moto(child, port);
    for _ in 0..200 {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return moto;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("moto_server did not listen on {port}");
}

/// S3's CreateBucket, a bare `PUT /bucket` (moto does not check signatures).
fn create_bucket(port: u16, bucket: &str) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "PUT /{bucket} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut reply = String::new();
    let _ = s.read_to_string(&mut reply);
    assert!(
        reply.starts_with("HTTP/1.1 200") || reply.starts_with("HTTP/1.0 200"),
        "{reply}"
    );
}

fn survql_s3(port: u16, args: &[&str]) -> Output {
    survql()
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn s3_tables_read_write_and_partitions() {
    let Some(server) = moto_server() else {
        assert!(
            std::env::var_os("SURVQL_REQUIRE_S3_TEST").is_none(),
            "SURVQL_REQUIRE_S3_TEST is set but moto_server is not installed"
        );
        eprintln!("note: moto_server not found (pip install 'moto[s3,server]'): S3 test not run");
        return;
    };
    let moto = start_moto(&server);
    let port = moto.1;
    create_bucket(port, "registry");
    // Write the demo cohort to the bucket: one file, and Hive-partitioned by sex.
    let o = survql_s3(
        port,
        &[
            "-q",
            "-c",
            "COPY (SELECT * FROM demo.net_cohort) TO 's3://registry/cohort.parquet' STORED AS PARQUET",
            "-c",
            "COPY (SELECT * FROM demo.net_cohort) TO 's3://registry/by_sex/' STORED AS PARQUET PARTITIONED BY (sex)",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let medians = "grade,m\n1,78.5\n2,19.4\n3,18.7\nlarge,17.7\nsmall,9.3\n,21.4\n";
    let by_grade = |table: &str| {
        format!("SELECT grade, km_median(os_months, died) AS m FROM {table} GROUP BY grade ORDER BY grade")
    };
    // -t NAME=s3://..., the numbers of the local table (R's, as in the tests above).
    let o = survql_s3(
        port,
        &[
            "--format",
            "csv",
            "-t",
            "c=s3://registry/cohort.parquet",
            "-c",
            &by_grade("c"),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), medians);
    // CREATE EXTERNAL TABLE ... LOCATION 's3://...'.
    let o = survql_s3(
        port,
        &[
            "--format",
            "csv",
            "-c",
            "CREATE EXTERNAL TABLE c2 STORED AS PARQUET LOCATION 's3://registry/cohort.parquet'",
            "-c",
            &by_grade("c2"),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), medians);
    // A partitioned folder: the partition column comes back, every row is there.
    let o = survql_s3(
        port,
        &[
            "--format",
            "csv",
            "-t",
            "p=s3://registry/by_sex/",
            "-c",
            "SELECT count(*) AS n, count(DISTINCT sex) AS sexes, km_median(os_months, died) AS m FROM p",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "n,sexes,m\n103,2,26.9\n");
    // A bucket that does not exist: an error, not a panic.
    let o = survql_s3(
        port,
        &["-t", "x=s3://no-such-bucket/a.parquet", "-c", "SELECT 1"],
    );
    assert!(!o.status.success());
    assert!(stderr(&o).contains("no-such-bucket"), "{}", stderr(&o));
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
}
