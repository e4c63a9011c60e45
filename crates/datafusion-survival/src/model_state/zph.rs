//! Evaluating `cox_zph` (R's `cox.zph`): the fit, then the proportional-hazards test.

use super::*;

pub(super) fn evaluate_zph(call: &ModelOps, states: &[ModelRows]) -> Result<ArrayRef> {
    let (mut gchi, mut gdf, mut gp) = (vec![], vec![], vec![]);
    let mut lengths = vec![];
    let (mut term, mut chi, mut df, mut p) = (vec![], vec![], vec![], vec![]);
    for rows in states {
        let (fit, names, _, data, groups) = fit_row(call, rows)?;
        // Terms: one per covariate argument (R's terms = TRUE), or one per coefficient.
        let (labels, grp): (Vec<String>, Vec<Vec<usize>>) = if call.options.terms {
            let l = call
                .covariates
                .iter()
                .map(|c| c.name().to_owned())
                .collect();
            (l, groups)
        } else {
            (names.clone(), (0..names.len()).map(|i| vec![i]).collect())
        };
        match cox_zph(
            &data,
            &fit,
            call.options.fit.ties,
            call.options.transform,
            &grp,
        ) {
            Some(z) => {
                gchi.push(z.global.statistic.and_then(finite_or_null));
                gdf.push(Some(z.global.df as i64));
                gp.push(z.global.p_value.and_then(finite_or_null));
                let mut count = 0;
                for (l, s) in labels.iter().zip(&z.terms) {
                    if s.df == 0 {
                        continue; // every coefficient of the term was aliased, as R drops it
                    }
                    term.push(l.clone());
                    chi.push(s.statistic.and_then(finite_or_null));
                    df.push(s.df as i64);
                    p.push(s.p_value.and_then(finite_or_null));
                    count += 1;
                }
                lengths.push(count);
            }
            None => {
                gchi.push(None);
                gdf.push(None);
                gp.push(None);
                lengths.push(0);
            }
        }
    }
    let terms = struct_array(
        &zph_term_fields(),
        vec![
            string_array(&term)?,
            Arc::new(Float64Array::from(chi)),
            Arc::new(Int64Array::from(df)),
            Arc::new(Float64Array::from(p)),
        ],
    );
    Ok(struct_array(
        &zph_fields(),
        vec![
            Arc::new(Float64Array::from(gchi)),
            Arc::new(Int64Array::from(gdf)),
            Arc::new(Float64Array::from(gp)),
            list_array(&lengths, terms)?,
        ],
    ))
}
