//! The figure drawn in the terminal with Unicode characters.

use super::*;

/// The curves drawn with characters, for a terminal `width` columns wide.
pub fn render_terminal(plot: &Plot, opts: &PlotOptions, width: u16) -> String {
    const SYMBOLS: [char; 8] = ['*', 'o', 'x', '#', '@', '%', '&', '$'];
    let label_w = 6usize;
    let cols = (width as usize).saturating_sub(label_w + 2).clamp(30, 160);
    let rows = 20usize;
    let mut grid = vec![vec![' '; cols]; rows + 1];
    let col_of = |t: f64| {
        ((t / plot.xmax) * (cols - 1) as f64)
            .round()
            .clamp(0.0, (cols - 1) as f64) as usize
    };
    let row_of = |s: f64| ((1.0 - s) * rows as f64).round().clamp(0.0, rows as f64) as usize;
    for (k, c) in plot.curves.iter().enumerate() {
        let sym = SYMBOLS[k % SYMBOLS.len()];
        for (col, cell) in (0..cols).map(|col| (col, col as f64 / (cols - 1) as f64 * plot.xmax)) {
            // The value at this column's time: the last curve time <= t.
            let s = c.value_at(cell);
            let last = c.time.last().copied().unwrap_or(0.0);
            if cell > last + 1e-12 {
                break;
            }
            grid[row_of(s)][col] = sym;
        }
        for i in 0..c.time.len() {
            if c.censored[i] && c.time[i] <= plot.xmax {
                grid[row_of(c.value[i])][col_of(c.time[i])] = '+';
            }
        }
    }
    let mut out = String::new();
    if let Some(t) = &opts.title {
        out.push_str(&format!("{t}\n"));
    }
    out.push_str(&format!("{}\n", ylab(plot, opts)));
    for (r, line) in grid.iter().enumerate() {
        let y = 1.0 - r as f64 / rows as f64;
        let lab = if r % 5 == 0 {
            format!("{y:>5.2}")
        } else {
            " ".repeat(5)
        };
        out.push_str(&format!(
            "{lab} |{}\n",
            line.iter().collect::<String>().trim_end()
        ));
    }
    out.push_str(&format!("{} +{}\n", " ".repeat(5), "-".repeat(cols)));
    // Tick labels under the axis.
    let mut axis = vec![' '; cols + 12];
    for &t in &plot.ticks {
        let s = tick_label(t);
        let c = col_of(t);
        for (k, ch) in s.chars().enumerate() {
            if let Some(slot) = axis.get_mut(label_w + 1 + c + k) {
                *slot = ch;
            }
        }
    }
    out.push_str(axis.iter().collect::<String>().trim_end());
    out.push('\n');
    out.push_str(&format!(
        "{:>w$}\n",
        opts.xlab,
        w = label_w + cols / 2 + opts.xlab.len() / 2
    ));
    for (k, c) in plot.curves.iter().enumerate() {
        let counts = if plot.counts {
            format!(" (n = {}, events = {})", c.n, c.events)
        } else {
            String::new()
        };
        out.push_str(&format!(
            "  {} {}{counts}\n",
            SYMBOLS[k % SYMBOLS.len()],
            c.label
        ));
    }
    if plot.curves.iter().any(|c| c.censored.iter().any(|&x| x)) {
        out.push_str("  + censored\n");
    }
    if let Some(p) = plot.p_value {
        out.push_str(&format!("  {} {}\n", plot.test_name, format_p(p)));
    }
    if !plot.counts {
        return out;
    }
    // Number at risk.
    out.push_str("Number at risk\n");
    let risk = risk_table(plot);
    let head: Vec<String> = plot
        .ticks
        .iter()
        .map(|&t| format!("{:>7}", tick_label(t)))
        .collect();
    out.push_str(&format!("{:<12}{}\n", "time", head.join("")));
    for (k, c) in plot.curves.iter().enumerate() {
        let vals: Vec<String> = risk[k].iter().map(|v| format!("{v:>7}")).collect();
        let name = shorten(&c.label, 11);
        out.push_str(&format!("{name:<12}{}\n", vals.join("")));
    }
    out
}
