//! The documentation every survival function starts from: its section and builder.

use datafusion::logical_expr::{Documentation, DocumentationBuilder};

pub(crate) use datafusion::logical_expr::DocSection;

/// The documentation section every survql function belongs to.
pub(crate) const DOC_SECTION: DocSection = DocSection {
    include: true,
    label: "Survival Functions",
    description: Some("Survival analysis functions matching R's survival package."),
};

/// Starts a [`Documentation`] in the survival section.
pub(crate) fn doc(description: &str, syntax: &str) -> DocumentationBuilder {
    Documentation::builder(DOC_SECTION, description.to_owned(), syntax.to_owned())
}
