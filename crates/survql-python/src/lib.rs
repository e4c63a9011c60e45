//! `survql._survql`: the native half of the `survql` Python package.
//!
//! * Each survival function is a [`SurvivalFunction`] whose `__datafusion_aggregate_udf__`
//!   returns a `datafusion_aggregate_udf` PyCapsule holding an `FFI_AggregateUDF`, the
//!   protocol datafusion-python 55 uses for foreign aggregate functions.
//! * No panic may cross the FFI boundary (its functions are `extern "C"`: a panic would abort
//!   the interpreter). The accumulators already turn panics into errors;
//!   `datafusion_survival::panic_safe` does the same for the function's planning methods.
//! * The functions report skipped NULL rows and non-converged fits to one sink, drained by
//!   `survql.warnings()`.
//! * [`KmPlot`] draws the shell's Kaplan-Meier figure with `survql-plot`.

use std::sync::{Arc, Mutex, OnceLock};

use datafusion::arrow::array::{ArrayRef, Float64Array, RecordBatch, StringArray};
use datafusion::logical_expr::{AggregateUDF, ScalarUDF, WindowUDF};
use datafusion_ffi::udaf::FFI_AggregateUDF;
use datafusion_ffi::udf::FFI_ScalarUDF;
use datafusion_ffi::udwf::FFI_WindowUDF;
use datafusion_survival::WarningSink;
use pyo3::exceptions::{PyIOError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyCapsule};
use survql_plot::{
    figure_svg, km_plot_from_batches, render_terminal, risk_table, write_figure, PlotOptions,
};

/// The sink every function of this process reports to.
fn sink() -> &'static WarningSink {
    static SINK: OnceLock<WarningSink> = OnceLock::new();
    SINK.get_or_init(WarningSink::default)
}

/// The survival functions, made once.
fn all_functions() -> &'static [Arc<AggregateUDF>] {
    static FUNCTIONS: OnceLock<Vec<Arc<AggregateUDF>>> = OnceLock::new();
    FUNCTIONS.get_or_init(|| datafusion_survival::all_functions_with_warnings(sink()))
}

/// A function's syntax and description (its `\h` text), from its documentation.
fn described(doc: Option<&datafusion::logical_expr::Documentation>) -> (String, String) {
    doc.map(|d| (d.syntax_example.clone(), d.description.clone()))
        .unwrap_or_default()
}

/// One survival function, exportable to datafusion-python (`datafusion.udaf(f)`).
#[pyclass(name = "SurvivalFunction", module = "survql._survql", frozen)]
struct SurvivalFunction {
    udf: Arc<AggregateUDF>,
}

#[pymethods]
impl SurvivalFunction {
    /// The SQL name.
    #[getter]
    fn name(&self) -> String {
        self.udf.name().to_owned()
    }

    /// What the function computes (its `\h` text).
    #[getter]
    fn description(&self) -> String {
        described(self.udf.documentation()).1
    }

    /// The call syntax, e.g. `km_median(time, event)`.
    #[getter]
    fn syntax(&self) -> String {
        described(self.udf.documentation()).0
    }

    fn __repr__(&self) -> String {
        format!("<survql function {}>", self.syntax())
    }

    fn __datafusion_aggregate_udf__<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<Bound<'py, PyCapsule>> {
        // Planning methods guarded too: a panic must not cross the extern "C" boundary.
        let safe = datafusion_survival::panic_safe(Arc::clone(&self.udf));
        PyCapsule::new_with_value(
            py,
            FFI_AggregateUDF::from(safe),
            c"datafusion_aggregate_udf",
        )
    }
}

/// `surv(...)`, the survival response, exportable to datafusion-python (`datafusion.udf(f)`).
#[pyclass(name = "ScalarFunction", module = "survql._survql", frozen)]
struct ScalarFunction {
    udf: Arc<ScalarUDF>,
}

#[pymethods]
impl ScalarFunction {
    /// The SQL name.
    #[getter]
    fn name(&self) -> String {
        self.udf.name().to_owned()
    }

    /// What the function computes (its `\h` text).
    #[getter]
    fn description(&self) -> String {
        described(self.udf.documentation()).1
    }

    /// The call syntax, e.g. `km_median(time, event)`.
    #[getter]
    fn syntax(&self) -> String {
        described(self.udf.documentation()).0
    }

    fn __repr__(&self) -> String {
        format!("<survql function {}>", self.syntax())
    }

    fn __datafusion_scalar_udf__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyCapsule>> {
        PyCapsule::new_with_value(
            py,
            FFI_ScalarUDF::from(Arc::clone(&self.udf)),
            c"datafusion_scalar_udf",
        )
    }
}

/// A window function (`cox_residual`, `cox_predict`), exportable to datafusion-python
/// (`datafusion.udwf(f)`).
#[pyclass(name = "WindowFunction", module = "survql._survql", frozen)]
struct WindowFunction {
    udf: Arc<WindowUDF>,
}

#[pymethods]
impl WindowFunction {
    /// The SQL name.
    #[getter]
    fn name(&self) -> String {
        self.udf.name().to_owned()
    }

    /// What the function computes (its `\h` text).
    #[getter]
    fn description(&self) -> String {
        described(self.udf.documentation()).1
    }

    /// The call syntax, e.g. `km_median(time, event)`.
    #[getter]
    fn syntax(&self) -> String {
        described(self.udf.documentation()).0
    }

    fn __repr__(&self) -> String {
        format!("<survql function {}>", self.syntax())
    }

    fn __datafusion_window_udf__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyCapsule>> {
        PyCapsule::new_with_value(
            py,
            FFI_WindowUDF::from(Arc::clone(&self.udf)),
            c"datafusion_window_udf",
        )
    }
}

/// The window functions, reporting to the package's sink.
#[pyfunction]
fn window_functions() -> Vec<WindowFunction> {
    datafusion_survival::window_functions_with_warnings(sink())
        .into_iter()
        .map(|udf| WindowFunction { udf })
        .collect()
}

/// The scalar functions (`surv`).
#[pyfunction]
fn scalar_functions() -> Vec<ScalarFunction> {
    datafusion_survival::scalar_functions()
        .into_iter()
        .map(|udf| ScalarFunction { udf })
        .collect()
}

/// Every survival function.
#[pyfunction]
fn functions() -> Vec<SurvivalFunction> {
    all_functions()
        .iter()
        .map(|udf| SurvivalFunction {
            udf: Arc::clone(udf),
        })
        .collect()
}

/// Takes the warnings recorded since the last call (skipped NULL rows, Cox fits).
#[pyfunction]
fn drain_warnings() -> Vec<String> {
    sink().drain()
}

/// The DataFusion version the functions were built with.
#[pyfunction]
fn datafusion_version() -> &'static str {
    datafusion::DATAFUSION_VERSION
}

/// A Kaplan-Meier figure: the shell's `\plot km`, for notebooks.
#[pyclass(name = "KmPlot", module = "survql._survql", frozen)]
struct KmPlot {
    plot: survql_plot::Plot,
    opts: PlotOptions,
}

#[pymethods]
impl KmPlot {
    /// The figure as SVG text.
    fn svg(&self) -> PyResult<String> {
        figure_svg(&self.plot, &self.opts).map_err(|e| PyValueError::new_err(e.to_string()))
    }

    /// The figure as PNG bytes.
    fn png<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        static NEXT: Mutex<u64> = Mutex::new(0);
        let n = NEXT.lock().map(|mut g| {
            *g += 1;
            *g
        });
        let path = std::env::temp_dir().join(format!(
            "survql-plot-{}-{}.png",
            std::process::id(),
            n.unwrap_or(0)
        ));
        write_figure(&self.plot, &self.opts, &path)
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        let bytes = std::fs::read(&path).map_err(|e| PyIOError::new_err(e.to_string()));
        let _ = std::fs::remove_file(&path);
        Ok(PyBytes::new(py, &bytes?))
    }

    /// Writes the figure; the format follows the extension (.svg or .png).
    fn save(&self, path: std::path::PathBuf) -> PyResult<()> {
        write_figure(&self.plot, &self.opts, &path)
            .map_err(|e| PyValueError::new_err(e.to_string()))
    }

    /// The curves drawn with characters, `width` columns wide.
    #[pyo3(signature = (width = 100))]
    fn text(&self, width: u16) -> String {
        render_terminal(&self.plot, &self.opts, width)
    }

    /// The x ticks (the times of the number-at-risk table).
    #[getter]
    fn ticks(&self) -> Vec<f64> {
        self.plot.ticks.clone()
    }

    /// The group labels, in the order drawn.
    #[getter]
    fn groups(&self) -> Vec<String> {
        self.plot.curves.iter().map(|c| c.label.clone()).collect()
    }

    /// Number at risk of each group at each tick.
    #[getter]
    fn risk_table(&self) -> Vec<Vec<u64>> {
        risk_table(&self.plot)
    }

    /// The log-rank p-value shown in the legend (None with one group).
    #[getter]
    fn p_value(&self) -> Option<f64> {
        self.plot.p_value
    }
}

/// Builds a figure from columns: group labels (None for one curve), times, events (0/1).
#[pyfunction]
#[pyo3(signature = (labels, times, events, ci = false, title = None, xlab = None, ylab = None, break_every = None, xmax = None, width = 900.0, height = 640.0))]
#[allow(clippy::too_many_arguments)]
fn km_plot(
    labels: Option<Vec<Option<String>>>,
    times: Vec<Option<f64>>,
    events: Vec<Option<f64>>,
    ci: bool,
    title: Option<String>,
    xlab: Option<String>,
    ylab: Option<String>,
    break_every: Option<f64>,
    xmax: Option<f64>,
    width: f64,
    height: f64,
) -> PyResult<KmPlot> {
    // The options go through the shell's own parser, so the ranges and messages are the same.
    let mut args = vec!["km".to_owned()];
    let mut push = |flag: &str, v: String| {
        args.push(flag.to_owned());
        args.push(format!("\"{}\"", v.replace('"', "'")));
    };
    if let Some(b) = break_every {
        push("--break", b.to_string());
    }
    if let Some(x) = xmax {
        push("--xmax", x.to_string());
    }
    push("--width", width.to_string());
    push("--height", height.to_string());
    if let Some(t) = title {
        push("--title", t);
    }
    if let Some(x) = xlab {
        push("--xlab", x);
    }
    if let Some(y) = ylab {
        push("--ylab", y);
    }
    if ci {
        args.push("--ci".to_owned());
    }
    args.push("SELECT".to_owned());
    let (_, opts, _) = survql_plot::parse_plot_args(&args.join(" "))
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    if times.len() != events.len() || labels.as_ref().is_some_and(|l| l.len() != times.len()) {
        return Err(PyValueError::new_err(
            "km_plot: labels, times and events must have the same length",
        ));
    }
    let mut columns: Vec<(&str, ArrayRef)> = vec![];
    if let Some(l) = labels {
        columns.push(("group", Arc::new(StringArray::from(l))));
    }
    columns.push(("time", Arc::new(Float64Array::from(times))));
    columns.push(("event", Arc::new(Float64Array::from(events))));
    let batch =
        RecordBatch::try_from_iter(columns).map_err(|e| PyValueError::new_err(e.to_string()))?;
    let plot =
        km_plot_from_batches(&[batch], &opts).map_err(|e| PyValueError::new_err(e.to_string()))?;
    Ok(KmPlot { plot, opts })
}

#[pymodule]
fn _survql(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<SurvivalFunction>()?;
    m.add_class::<ScalarFunction>()?;
    m.add_function(wrap_pyfunction!(scalar_functions, m)?)?;
    m.add_function(wrap_pyfunction!(window_functions, m)?)?;
    m.add_class::<KmPlot>()?;
    m.add_function(wrap_pyfunction!(functions, m)?)?;
    m.add_function(wrap_pyfunction!(drain_warnings, m)?)?;
    m.add_function(wrap_pyfunction!(datafusion_version, m)?)?;
    m.add_function(wrap_pyfunction!(km_plot, m)?)?;
    Ok(())
}
