-- Competing risks on the bundled NET cohort: progression after first-line systemic treatment,
-- with death before progression as the competing event.
--
--   survql -f sql/competing_risks.sql
--   survql -t cohort=my_cohort.parquet -f sql/competing_risks.sql
--
-- 1 - Kaplan-Meier of time to progression, censoring the deaths, overstates the risk of
-- progression: a patient who died can no longer progress. The Aalen-Johansen cumulative
-- incidence (cif_*) does not, and Gray's test compares it between groups. Numbers are R's
-- survfit(Surv(ttp_months, factor(status)) ~ 1) and cmprsk::cuminc (see tests/slt/competing_risks.slt).

\default cohort demo.net_cohort

-- status: 0 = censored, 1 = progression, 2 = death without progression.
CREATE OR REPLACE VIEW progression AS
SELECT ttp_months,
       CASE WHEN progressed = 1 THEN 1 WHEN died = 1 THEN 2 ELSE 0 END AS status,
       CASE WHEN liver_mets THEN 'present' ELSE 'absent' END AS liver,
       progressed
FROM cohort
WHERE ttp_months IS NOT NULL;

\echo
\echo Cumulative incidence of progression and of death without progression at 6, 12 and 24 months
SELECT 6 AS months,
       round(cif_at(ttp_months, status, 1, 6)['cif'], 3) AS progression,
       round(cif_at(ttp_months, status, 1, 6)['lower'], 3) AS lower_95,
       round(cif_at(ttp_months, status, 1, 6)['upper'], 3) AS upper_95,
       round(cif_at(ttp_months, status, 2, 6)['cif'], 3) AS death_first,
       round(1 - km_survival(ttp_months, progressed, 6)['surv'], 3) AS one_minus_km
FROM progression
UNION ALL
SELECT 12 AS months,
       round(cif_at(ttp_months, status, 1, 12)['cif'], 3) AS progression,
       round(cif_at(ttp_months, status, 1, 12)['lower'], 3) AS lower_95,
       round(cif_at(ttp_months, status, 1, 12)['upper'], 3) AS upper_95,
       round(cif_at(ttp_months, status, 2, 12)['cif'], 3) AS death_first,
       round(1 - km_survival(ttp_months, progressed, 12)['surv'], 3) AS one_minus_km
FROM progression
UNION ALL
SELECT 24 AS months,
       round(cif_at(ttp_months, status, 1, 24)['cif'], 3) AS progression,
       round(cif_at(ttp_months, status, 1, 24)['lower'], 3) AS lower_95,
       round(cif_at(ttp_months, status, 1, 24)['upper'], 3) AS upper_95,
       round(cif_at(ttp_months, status, 2, 24)['cif'], 3) AS death_first,
       round(1 - km_survival(ttp_months, progressed, 24)['surv'], 3) AS one_minus_km
FROM progression
ORDER BY months;

\echo
\echo By liver metastases: 12-month cumulative incidence of progression, Gray's test
SELECT liver,
       count(*) AS n,
       round(cif_at(ttp_months, status, 1, 12)['cif'], 3) AS progression_12m,
       round(cif_at(ttp_months, status, 2, 12)['cif'], 3) AS death_first_12m
FROM progression
GROUP BY liver
ORDER BY liver;

SELECT round(gray_test(ttp_months, status, 1, liver)['statistic'], 3) AS gray_progression,
       round(gray_test(ttp_months, status, 1, liver)['p_value'], 4) AS p_progression,
       round(gray_test(ttp_months, status, 2, liver)['p_value'], 4) AS p_death_first
FROM progression;

\echo
\echo The whole curve (first rows)
SELECT c.time AS time, c.n_risk AS n_risk, c.n_event AS n_event, round(c.cif, 4) AS cif,
       round(c.std_err, 4) AS std_err
FROM (SELECT unnest(cif_curve(ttp_months, status, 1)) AS c FROM progression)
LIMIT 8;
