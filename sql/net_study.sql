-- Reproduction of a retrospective cohort study of metastatic/recurrent neuroendocrine
-- tumours (NET) from one SQL script: baseline characteristics, overall survival (OS) and
-- time to progression (TTP) by subgroup with log-rank tests, response rates with exact
-- confidence intervals, chi-square/Fisher tests, a Cox model, and the Kaplan-Meier figures.
--
--   survql -f sql/net_study.sql                          # on the bundled demo cohort
--   survql -t cohort=my_cohort.parquet -f sql/net_study.sql   # on your own data
--
-- The input is the table `cohort` (columns: see sql/README.md); when it does not exist the
-- bundled synthetic cohort demo.net_cohort is used. Figures go to --figures (figures/).

\default cohort demo.net_cohort

-- Derived variables used by every table.
CREATE OR REPLACE VIEW net AS
SELECT *,
       CASE WHEN age < 60 THEN '<60' ELSE '>=60' END AS age_group,
       CASE WHEN grade = '1' THEN '1'
            WHEN grade IN ('2', '3') THEN '2-3'
            WHEN grade IS NULL THEN NULL
            ELSE grade END AS grade_group,
       CASE WHEN liver_mets THEN 'present' ELSE 'absent' END AS liver,
       CASE WHEN nse_nmol_l IS NULL THEN NULL
            WHEN nse_nmol_l > 12.5 THEN 'elevated' ELSE 'normal' END AS nse,
       treatment IN ('systemic', 'both') AS systemic,
       best_response IN ('CR', 'PR') AS objective_response,
       best_response IN ('CR', 'PR', 'SD') AS disease_control
FROM cohort;

\echo
\echo ==== Abstract: headline numbers ====
SELECT measure, estimate, lower, upper FROM (
SELECT 1 AS k, 'patients' AS measure, CAST(count(*) AS DOUBLE) AS estimate, NULL AS lower, NULL AS upper FROM net
UNION ALL
SELECT 2, 'median OS (months)', km_summary(os_months, died)['median'], km_summary(os_months, died)['lower'],
       km_summary(os_months, died)['upper'] FROM net
UNION ALL
SELECT 3, '3-year OS rate', km_survival(os_months, died, 36)['surv'], km_survival(os_months, died, 36)['lower'],
       km_survival(os_months, died, 36)['upper'] FROM net
UNION ALL
SELECT 4, 'median follow-up (reverse KM, months)', km_followup(os_months, died)['median'],
       km_followup(os_months, died)['lower'], km_followup(os_months, died)['upper'] FROM net
UNION ALL
SELECT 5, 'median TTP, systemic patients (months)', km_summary(ttp_months, progressed)['median'],
       km_summary(ttp_months, progressed)['lower'], km_summary(ttp_months, progressed)['upper']
FROM net WHERE systemic
UNION ALL
SELECT 6, '1-year progression-free rate', km_survival(ttp_months, progressed, 12)['surv'],
       km_survival(ttp_months, progressed, 12)['lower'], km_survival(ttp_months, progressed, 12)['upper']
FROM net WHERE systemic
UNION ALL
SELECT 7, 'ORR (CR+PR), evaluable systemic patients', prop_ci(objective_response)['estimate'],
       prop_ci(objective_response)['lower'], prop_ci(objective_response)['upper']
FROM net WHERE systemic AND best_response IS NOT NULL
UNION ALL
SELECT 8, 'DCR (CR+PR+SD), evaluable systemic patients', prop_ci(disease_control)['estimate'],
       prop_ci(disease_control)['lower'], prop_ci(disease_control)['upper']
FROM net WHERE systemic AND best_response IS NOT NULL
) ORDER BY k;

\echo
\echo ==== Table 1: Baseline characteristics (n = 103) ====
WITH t AS (SELECT count(*) AS total FROM net)
SELECT 'Age (years)' AS characteristic, 'median (range)' AS level,
       concat(CAST(median(age) AS BIGINT), ' (', CAST(min(age) AS BIGINT), '-', CAST(max(age) AS BIGINT), ')') AS value, NULL AS n, NULL AS pct
FROM net
UNION ALL SELECT 'Age (years)', age_group, NULL, count(*), round(100.0 * count(*) / max(t.total), 1) FROM net, t GROUP BY age_group
UNION ALL SELECT 'Sex', sex, NULL, count(*), round(100.0 * count(*) / max(t.total), 1) FROM net, t GROUP BY sex
UNION ALL SELECT 'Origin', origin, NULL, count(*), round(100.0 * count(*) / max(t.total), 1) FROM net, t GROUP BY origin
UNION ALL SELECT 'Liver metastasis', liver, NULL, count(*), round(100.0 * count(*) / max(t.total), 1) FROM net, t GROUP BY liver
UNION ALL SELECT 'Grade', coalesce(grade, 'unclassified/unavailable'), NULL, count(*), round(100.0 * count(*) / max(t.total), 1) FROM net, t GROUP BY grade
UNION ALL SELECT 'Treatment', treatment, NULL, count(*), round(100.0 * count(*) / max(t.total), 1) FROM net, t GROUP BY treatment
UNION ALL SELECT 'Serum NSE (nmol/l)', 'median (range)', concat(round(median(nse_nmol_l), 1), ' (', round(min(nse_nmol_l), 1), '-', round(max(nse_nmol_l), 1), ')'), count(nse_nmol_l), NULL FROM net
UNION ALL SELECT 'Serum NSE (nmol/l)', nse, NULL, count(*), round(100.0 * count(*) / max(a.available), 1) FROM net, (SELECT count(nse_nmol_l) AS available FROM net) a WHERE nse IS NOT NULL GROUP BY nse
UNION ALL SELECT '24-h urine 5-HIAA (umol/day)', 'median (range)', concat(round(median(hiaa_umol_day), 1), ' (', round(min(hiaa_umol_day), 1), '-', round(max(hiaa_umol_day), 1), ')'), count(hiaa_umol_day), NULL FROM net
ORDER BY characteristic, level;

\echo
\echo ==== Table 2: Overall survival according to characteristics (n = 103) ====
\echo median OS and 95% CI (log, as R survfit) in months; 3-year survival rate; log-rank and Gehan-Breslow (generalised Wilcoxon) p across the levels
WITH p AS (
  SELECT logrank_p(os_months, died, age_group) AS p_age, logrank_p(os_months, died, sex) AS p_sex,
         logrank_p(os_months, died, origin) AS p_origin, logrank_p(os_months, died, liver) AS p_liver,
         logrank_p(os_months, died, grade) AS p_grade, logrank_p(os_months, died, grade_group) AS p_grade_group,
         logrank_p(os_months, died, CASE WHEN treatment <> 'supportive' THEN treatment END) AS p_treatment,
         logrank_weighted_test(os_months, died, age_group, 'gehan')['p_value'] AS g_age,
         logrank_weighted_test(os_months, died, sex, 'gehan')['p_value'] AS g_sex,
         logrank_weighted_test(os_months, died, origin, 'gehan')['p_value'] AS g_origin,
         logrank_weighted_test(os_months, died, liver, 'gehan')['p_value'] AS g_liver,
         logrank_weighted_test(os_months, died, grade, 'gehan')['p_value'] AS g_grade,
         logrank_weighted_test(os_months, died, grade_group, 'gehan')['p_value'] AS g_grade_group,
         logrank_weighted_test(os_months, died, CASE WHEN treatment <> 'supportive' THEN treatment END, 'gehan')['p_value'] AS g_treatment
  FROM net),
rows AS (
  SELECT 'Age' AS characteristic, age_group AS level, km_summary(os_months, died) AS s, km_survival(os_months, died, 36)['surv'] AS os_3y, max(p.p_age) AS p, max(p.g_age) AS g FROM net, p GROUP BY age_group
  UNION ALL SELECT 'Sex', sex, km_summary(os_months, died), km_survival(os_months, died, 36)['surv'], max(p.p_sex), max(p.g_sex) FROM net, p GROUP BY sex
  UNION ALL SELECT 'Origin', origin, km_summary(os_months, died), km_survival(os_months, died, 36)['surv'], max(p.p_origin), max(p.g_origin) FROM net, p GROUP BY origin
  UNION ALL SELECT 'Liver metastasis', liver, km_summary(os_months, died), km_survival(os_months, died, 36)['surv'], max(p.p_liver), max(p.g_liver) FROM net, p GROUP BY liver
  UNION ALL SELECT 'Grade', grade, km_summary(os_months, died), km_survival(os_months, died, 36)['surv'], max(p.p_grade), max(p.g_grade) FROM net, p WHERE grade IS NOT NULL GROUP BY grade
  UNION ALL SELECT 'Grade group', grade_group, km_summary(os_months, died), km_survival(os_months, died, 36)['surv'], max(p.p_grade_group), max(p.g_grade_group) FROM net, p WHERE grade_group IS NOT NULL GROUP BY grade_group
  UNION ALL SELECT 'Treatment modality', treatment, km_summary(os_months, died), km_survival(os_months, died, 36)['surv'], max(p.p_treatment), max(p.g_treatment) FROM net, p WHERE treatment <> 'supportive' GROUP BY treatment
)
SELECT characteristic, level, s['n'] AS n, s['events'] AS deaths, s['median'] AS median_os,
       s['lower'] AS lcl, s['upper'] AS ucl, os_3y, p AS logrank_p, g AS gehan_p
FROM rows ORDER BY characteristic, level;

\echo
\echo ==== Table 5: OS and TTP among the 66 patients who received systemic treatment ====
\echo medians in months with 95% CI; 1-year OS and progression-free rates; log-rank p across the levels
WITH s AS (SELECT * FROM net WHERE systemic),
p AS (
  SELECT logrank_p(os_months, died, age_group) AS os_age, logrank_p(ttp_months, progressed, age_group) AS ttp_age,
         logrank_p(os_months, died, sex) AS os_sex, logrank_p(ttp_months, progressed, sex) AS ttp_sex,
         logrank_p(os_months, died, origin) AS os_origin, logrank_p(ttp_months, progressed, origin) AS ttp_origin,
         logrank_p(os_months, died, liver) AS os_liver, logrank_p(ttp_months, progressed, liver) AS ttp_liver,
         logrank_p(os_months, died, grade_group) AS os_grade, logrank_p(ttp_months, progressed, grade_group) AS ttp_grade,
         logrank_p(os_months, died, treatment) AS os_trt, logrank_p(ttp_months, progressed, treatment) AS ttp_trt
  FROM s),
rows AS (
  SELECT 'All' AS characteristic, 'all' AS level, km_summary(os_months, died) AS os, km_survival(os_months, died, 12)['surv'] AS os_1y,
         km_summary(ttp_months, progressed) AS ttp, km_survival(ttp_months, progressed, 12)['surv'] AS pfs_1y, NULL AS os_p, NULL AS ttp_p FROM s
  UNION ALL SELECT 'Age', age_group, km_summary(os_months, died), km_survival(os_months, died, 12)['surv'], km_summary(ttp_months, progressed), km_survival(ttp_months, progressed, 12)['surv'], max(p.os_age), max(p.ttp_age) FROM s, p GROUP BY age_group
  UNION ALL SELECT 'Sex', sex, km_summary(os_months, died), km_survival(os_months, died, 12)['surv'], km_summary(ttp_months, progressed), km_survival(ttp_months, progressed, 12)['surv'], max(p.os_sex), max(p.ttp_sex) FROM s, p GROUP BY sex
  UNION ALL SELECT 'Origin', origin, km_summary(os_months, died), km_survival(os_months, died, 12)['surv'], km_summary(ttp_months, progressed), km_survival(ttp_months, progressed, 12)['surv'], max(p.os_origin), max(p.ttp_origin) FROM s, p GROUP BY origin
  UNION ALL SELECT 'Liver metastasis', liver, km_summary(os_months, died), km_survival(os_months, died, 12)['surv'], km_summary(ttp_months, progressed), km_survival(ttp_months, progressed, 12)['surv'], max(p.os_liver), max(p.ttp_liver) FROM s, p GROUP BY liver
  UNION ALL SELECT 'Grade group', grade_group, km_summary(os_months, died), km_survival(os_months, died, 12)['surv'], km_summary(ttp_months, progressed), km_survival(ttp_months, progressed, 12)['surv'], max(p.os_grade), max(p.ttp_grade) FROM s, p WHERE grade_group IS NOT NULL GROUP BY grade_group
  UNION ALL SELECT 'Treatment modality', treatment, km_summary(os_months, died), km_survival(os_months, died, 12)['surv'], km_summary(ttp_months, progressed), km_survival(ttp_months, progressed, 12)['surv'], max(p.os_trt), max(p.ttp_trt) FROM s, p GROUP BY treatment
)
SELECT characteristic, level, os['n'] AS n, os['median'] AS median_os, os['lower'] AS os_lcl, os['upper'] AS os_ucl,
       os_1y, os_p, ttp['median'] AS median_ttp, ttp['lower'] AS ttp_lcl, ttp['upper'] AS ttp_ucl, pfs_1y, ttp_p
FROM rows ORDER BY characteristic, level;

\echo
\echo ==== Table 6: Response to first-line systemic treatment (evaluable patients) ====
\echo ORR = CR or PR, DCR = CR, PR or SD, with exact (Clopper-Pearson) 95% CI; p: chi-square (Yates) and Fisher exact
WITH e AS (SELECT * FROM net WHERE systemic AND best_response IS NOT NULL),
p AS (
  SELECT chisq_test(objective_response, liver)['p_value'] AS orr_liver_chisq, fisher_test(objective_response, liver)['p_value'] AS orr_liver_fisher,
         chisq_test(disease_control, liver)['p_value'] AS dcr_liver_chisq, fisher_test(disease_control, liver)['p_value'] AS dcr_liver_fisher,
         chisq_test(objective_response, nse)['p_value'] AS orr_nse_chisq, fisher_test(objective_response, nse)['p_value'] AS orr_nse_fisher,
         chisq_test(disease_control, nse)['p_value'] AS dcr_nse_chisq, fisher_test(disease_control, nse)['p_value'] AS dcr_nse_fisher,
         chisq_test(objective_response, sex)['p_value'] AS orr_sex_chisq, fisher_test(objective_response, sex)['p_value'] AS orr_sex_fisher,
         chisq_test(disease_control, sex)['p_value'] AS dcr_sex_chisq, fisher_test(disease_control, sex)['p_value'] AS dcr_sex_fisher,
         chisq_test(objective_response, grade_group)['p_value'] AS orr_grade_chisq, fisher_test(objective_response, grade_group)['p_value'] AS orr_grade_fisher,
         chisq_test(disease_control, grade_group)['p_value'] AS dcr_grade_chisq, fisher_test(disease_control, grade_group)['p_value'] AS dcr_grade_fisher
  FROM e),
rows AS (
  SELECT 'All' AS characteristic, 'all' AS level, prop_ci(objective_response) AS orr, prop_ci(disease_control) AS dcr,
         NULL AS orr_chisq_p, NULL AS orr_fisher_p, NULL AS dcr_chisq_p, NULL AS dcr_fisher_p FROM e
  UNION ALL SELECT 'Sex', sex, prop_ci(objective_response), prop_ci(disease_control), max(p.orr_sex_chisq), max(p.orr_sex_fisher), max(p.dcr_sex_chisq), max(p.dcr_sex_fisher) FROM e, p GROUP BY sex
  UNION ALL SELECT 'Liver metastasis', liver, prop_ci(objective_response), prop_ci(disease_control), max(p.orr_liver_chisq), max(p.orr_liver_fisher), max(p.dcr_liver_chisq), max(p.dcr_liver_fisher) FROM e, p GROUP BY liver
  UNION ALL SELECT 'Serum NSE', nse, prop_ci(objective_response), prop_ci(disease_control), max(p.orr_nse_chisq), max(p.orr_nse_fisher), max(p.dcr_nse_chisq), max(p.dcr_nse_fisher) FROM e, p WHERE nse IS NOT NULL GROUP BY nse
  UNION ALL SELECT 'Grade group', grade_group, prop_ci(objective_response), prop_ci(disease_control), max(p.orr_grade_chisq), max(p.orr_grade_fisher), max(p.dcr_grade_chisq), max(p.dcr_grade_fisher) FROM e, p WHERE grade_group IS NOT NULL GROUP BY grade_group
)
SELECT characteristic, level, orr['n'] AS n, orr['x'] AS responders, orr['estimate'] AS orr, orr['lower'] AS orr_lcl, orr['upper'] AS orr_ucl,
       orr_chisq_p, orr_fisher_p, dcr['x'] AS controlled, dcr['estimate'] AS dcr, dcr['lower'] AS dcr_lcl, dcr['upper'] AS dcr_ucl,
       dcr_chisq_p, dcr_fisher_p
FROM rows ORDER BY characteristic, level;

\echo
\echo ==== Cox model: OS on grade and liver metastasis (hazard ratios with 95% CI) ====
SELECT t['term'] AS term, t['coef'] AS coef, t['exp_coef'] AS hazard_ratio, t['lower'] AS lcl, t['upper'] AS ucl,
       t['se'] AS se, t['p_value'] AS p_value
FROM (SELECT unnest(cox_ph(os_months, died, grade, liver_mets)['terms']) AS t FROM net);

\echo
\echo ==== Cox model: OS on grade group, age, liver metastasis and treatment modality ====
SELECT t['term'] AS term, t['coef'] AS coef, t['exp_coef'] AS hazard_ratio, t['lower'] AS lcl, t['upper'] AS ucl,
       t['se'] AS se, t['p_value'] AS p_value
FROM (SELECT unnest(cox_ph(os_months, died, grade_group, age, liver_mets, treatment)['terms']) AS t FROM net);

SELECT m['n'] AS n, m['events'] AS deaths, m['lr_chisq'] AS lr_chisq, m['lr_df'] AS df, m['lr_p'] AS lr_p,
       m['concordance'] AS concordance, m['converged'] AS converged, m['warning'] AS warning
FROM (SELECT cox_ph(os_months, died, grade_group, age, liver_mets, treatment) AS m FROM net);

\echo
\echo ==== Figures (Kaplan-Meier, with number-at-risk tables) ====
\plot km -o figure1_os.svg --title "Overall survival" --xlab "Months" --break 12 SELECT 'all patients', os_months, died FROM net;
\plot km -o figure2_os_by_treatment.svg --title "Overall survival by treatment modality" --xlab "Months" --break 12 SELECT treatment, os_months, died FROM net WHERE treatment <> 'supportive';
\plot km -o figure3_os_by_grade.svg --title "Overall survival by grade" --xlab "Months" --break 12 SELECT grade_group, os_months, died FROM net WHERE grade_group IS NOT NULL;
\plot km -o figure4_ttp.svg --title "Time to progression after first-line systemic treatment" --xlab "Months" --ylab "Progression-free probability" --break 6 SELECT 'systemic patients', ttp_months, progressed FROM net WHERE systemic;
\plot km -o figure5_ttp_by_liver.svg --title "Time to progression by liver metastasis" --xlab "Months" --ylab "Progression-free probability" --break 6 SELECT liver, ttp_months, progressed FROM net WHERE systemic;
\plot forest -o figure6_cox_forest.svg --title "Overall survival: multivariable Cox model" SELECT cox_ph(os_months, died, grade_group, age, liver_mets, treatment) FROM net;
