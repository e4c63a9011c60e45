//! Multiplicity adjustment of p-values, as R's `p.adjust`.

/// A `p.adjust` method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PAdjust {
    /// Holm (1979) step-down: p̃_(i) = max_{j ≤ i} min(1, (m − j + 1) p_(j)).
    Holm,
    /// Bonferroni: p̃ = min(1, m p).
    Bonferroni,
    /// Benjamini-Hochberg (1995) step-up: p̃_(i) = min_{j ≥ i} min(1, m p_(j) / j).
    BenjaminiHochberg,
    /// No adjustment.
    None,
}

impl PAdjust {
    /// The names [`PAdjust::parse`] accepts.
    pub const NAMES: &'static str = "'holm', 'bonferroni', 'BH', 'none'";

    /// R's names: `holm`, `bonferroni`, `BH` (or `fdr`), `none`; case-insensitive.
    pub fn parse(text: &str) -> Option<PAdjust> {
        match text.trim().to_ascii_lowercase().as_str() {
            "holm" => Some(PAdjust::Holm),
            "bonferroni" => Some(PAdjust::Bonferroni),
            "bh" | "fdr" => Some(PAdjust::BenjaminiHochberg),
            "none" => Some(PAdjust::None),
            _ => None,
        }
    }
}

/// `p.adjust(p, method)`: `None` entries (R's NA) are left out of m and stay `None`.
pub fn p_adjust(p: &[Option<f64>], method: PAdjust) -> Vec<Option<f64>> {
    let present: Vec<(usize, f64)> = p
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.map(|v| (i, v)))
        .collect();
    let m = present.len() as f64;
    let mut out = vec![None; p.len()];
    match method {
        PAdjust::None => return p.to_vec(),
        PAdjust::Bonferroni => {
            for &(i, v) in &present {
                out[i] = Some((m * v).min(1.0));
            }
        }
        PAdjust::Holm => {
            // Ascending p (ties in input order, as R's order()).
            let mut sorted = present.clone();
            sorted.sort_by(|a, b| a.1.total_cmp(&b.1));
            let mut running = 0.0_f64;
            for (k, &(i, v)) in sorted.iter().enumerate() {
                running = running.max((m - k as f64) * v);
                out[i] = Some(running.min(1.0));
            }
        }
        PAdjust::BenjaminiHochberg => {
            // Descending p; rank i = m, m-1, ... (ties in reverse input order, as R's
            // order(p, decreasing = TRUE)).
            let mut sorted = present.clone();
            sorted.sort_by(|a, b| b.1.total_cmp(&a.1));
            let mut running = f64::INFINITY;
            for (k, &(i, v)) in sorted.iter().enumerate() {
                let rank = m - k as f64;
                running = running.min(m / rank * v);
                out[i] = Some(running.min(1.0));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// R: p.adjust(c(0.01, 0.04, 0.03, NA, 0.2), "holm" / "bonferroni" / "BH").
    #[test]
    fn matches_r() {
        let p = [Some(0.01), Some(0.04), Some(0.03), None, Some(0.2)];
        let close = |got: &[Option<f64>], want: &[Option<f64>]| {
            got.iter().zip(want).all(|(a, b)| match (a, b) {
                (Some(a), Some(b)) => (a - b).abs() <= 1e-15,
                (None, None) => true,
                _ => false,
            })
        };
        let holm = p_adjust(&p, PAdjust::Holm);
        assert!(
            close(
                &holm,
                &[Some(0.04), Some(0.09), Some(0.09), None, Some(0.2)]
            ),
            "{holm:?}"
        );
        let bonf = p_adjust(&p, PAdjust::Bonferroni);
        assert!(
            close(
                &bonf,
                &[Some(0.04), Some(0.16), Some(0.12), None, Some(0.8)]
            ),
            "{bonf:?}"
        );
        let bh = p_adjust(&p, PAdjust::BenjaminiHochberg);
        assert!(
            close(
                &bh,
                &[
                    Some(0.04),
                    Some(0.05333333333333334),
                    Some(0.05333333333333334),
                    None,
                    Some(0.2)
                ]
            ),
            "{bh:?}"
        );
        assert_eq!(p_adjust(&p, PAdjust::None), p.to_vec());
    }
}
