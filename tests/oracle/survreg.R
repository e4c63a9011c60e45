# Cases for parametric survival regression (issue 16): the data and R's answers.
#
#   Rscript tests/oracle/survreg.R > tests/data/oracle/survreg.json
#
# R: fit <- survreg(Surv(time, event) ~ x1 + ..., data, dist = d): summary(fit)$table
# (Value, Std. Error, z, p) for each coefficient, confint(fit) (the coefficient's Wald limits,
# not exponentiated), fit$scale, the "Log(scale)" row's standard error, fit$loglik (the
# intercept-only model first), the likelihood-ratio chi-square 2 (loglik[2] - loglik[1]) on
# the number of coefficients besides the intercept and its p-value (print.survreg). Text
# covariates are factors with treatment contrasts (levels in byte order), as cox_ph.
#
# Output: the edge_cases.json layout, entries of kind "survreg".
# R 4.2.2, survival 3.5-3 (Debian bookworm's r-cran-survival).
suppressMessages(library(survival))
invisible(Sys.setlocale("LC_COLLATE", "C"))
args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))
source(file.path(here, "json.R"))

survreg_entry <- function(case, data, covariates, dist, conf_level = 0.95, strata = NULL) {
  rhs <- paste(c(covariates, if (!is.null(strata)) sprintf("strata(%s)", strata)), collapse = " + ")
  f <- as.formula(paste("Surv(time, event) ~", rhs))
  fit <- survreg(f, data = data, dist = dist)
  tab <- summary(fit)$table
  ci <- confint(fit, level = conf_level)
  nb <- length(fit$coefficients)
  # With strata: one scale per stratum (names "s=level"), their Log(scale) rows after the
  # coefficients in summary(fit)$table.
  strata_scales <- if (is.null(strata)) NULL else
    lapply(seq_along(fit$scale), function(k)
      list(stratum = sub("^[^=]*=", "", names(fit$scale)[k]), scale = unname(fit$scale[k]),
           log_scale_se = unname(tab[nb + k, "Std. Error"])))
  terms <- lapply(seq_len(nb), function(i) {
    list(name = names(fit$coefficients)[i], coef = unname(tab[i, "Value"]),
         se = unname(tab[i, "Std. Error"]), z = unname(tab[i, "z"]), p = unname(tab[i, "p"]),
         lower = unname(ci[i, 1]), upper = unname(ci[i, 2]))
  })
  df <- sum(!is.na(fit$coefficients)) - 1
  chisq <- 2 * (fit$loglik[2] - fit$loglik[1])
  log_scale_se <- if (dist == "exponential" || !is.null(strata)) NA else
    unname(tab["Log(scale)", "Std. Error"])
  list(id = sprintf("%s/survreg/%s/%s%s%s", case, dist, paste(covariates, collapse = "_"),
                    if (conf_level == 0.95) "" else paste0("/", conf_level),
                    if (is.null(strata)) "" else paste0("/strata_", strata)),
       kind = "survreg", source = "R",
       r_call = sprintf("survreg(%s, data, dist = \"%s\")", deparse(f), dist),
       input = list(time = "time", event = "event", covariates = I(covariates), dist = dist,
                    conf_level = conf_level, strata = strata),
       result = list(n = nrow(data), events = sum(data$event), dist = dist,
                     scale = if (is.null(strata)) fit$scale else NA, strata = strata_scales,
                     log_scale_se = log_scale_se, loglik = fit$loglik[2],
                     loglik_null = fit$loglik[1], chisq = chisq, df = df,
                     p = pchisq(chisq, df, lower.tail = FALSE), iterations = fit$iter,
                     terms = terms))
}

cases <- list()
add_case <- function(name, data, description, entries) {
  cases[[length(cases) + 1]] <<- list(id = name, description = description,
                                      data = as.list(data), entries = entries)
}

# R's lung data (rows with the ECOG score), ECOG also as a factor.
lg <- lung[!is.na(lung$ph.ecog), ]
lung2 <- data.frame(time = lg$time, event = as.integer(lg$status == 2), age = lg$age,
                    sex = lg$sex, ecog = lg$ph.ecog, ecog_f = as.character(lg$ph.ecog))
entries <- list()
for (d in c("weibull", "exponential", "lognormal", "loglogistic", "gaussian", "logistic")) {
  entries[[length(entries) + 1]] <- survreg_entry("sr_lung", lung2, c("age", "sex", "ecog"), d)
}
entries[[length(entries) + 1]] <- survreg_entry("sr_lung", lung2, c("age", "ecog_f"), "weibull")
entries[[length(entries) + 1]] <- survreg_entry("sr_lung", lung2, c("sex"), "lognormal", 0.9)
# strata(): one scale per stratum (sex; ECOG score groups, a text column).
lung2$ecog_g <- ifelse(lung2$ecog >= 2, "ecog2+", ifelse(lung2$ecog == 1, "ecog1", "ecog0"))
entries[[length(entries) + 1]] <- survreg_entry("sr_lung", lung2, c("age"), "weibull", strata = "sex")
entries[[length(entries) + 1]] <- survreg_entry("sr_lung", lung2, c("age", "sex"), "lognormal", 0.9,
                                                strata = "ecog_g")
entries[[length(entries) + 1]] <- survreg_entry("sr_lung", lung2, c("age", "ecog_f"), "loglogistic",
                                                strata = "sex")
entries[[length(entries) + 1]] <- survreg_entry("sr_lung", lung2, c("age"), "gaussian", strata = "sex")
add_case("sr_lung", lung2, "R's lung data, six distributions, a factor", entries)

# R's veteran data: treatment, cell type (a factor) and Karnofsky score.
vet <- data.frame(time = veteran$time, event = veteran$status, trt = veteran$trt,
                  celltype = as.character(veteran$celltype), karno = veteran$karno)
add_case("sr_veteran", vet, "R's veteran data with the cell type as a factor",
         list(survreg_entry("sr_veteran", vet, c("trt", "celltype", "karno"), "weibull"),
              survreg_entry("sr_veteran", vet, c("trt", "celltype", "karno"), "loglogistic"),
              survreg_entry("sr_veteran", vet, c("karno"), "exponential")))

# Heavy censoring, tied times, a binary covariate.
small <- data.frame(time = c(5, 8, 8, 12, 15, 15, 20, 22, 30, 31, 33, 40, 41, 45, 50, 60),
                    event = c(1, 1, 0, 1, 0, 0, 1, 0, 1, 0, 0, 1, 0, 0, 1, 0),
                    x = c(0, 1, 0, 1, 1, 0, 0, 1, 1, 0, 1, 0, 1, 0, 1, 0))
add_case("sr_small", small, "16 subjects, 7 events, ties",
         list(survreg_entry("sr_small", small, c("x"), "weibull"),
              survreg_entry("sr_small", small, c("x"), "lognormal"),
              survreg_entry("sr_small", small, c("x"), "gaussian"),
              survreg_entry("sr_small", small, c("x"), "weibull", strata = "x")))

# Small data with ties, where the information matrix is not positive definite on the way to
# the maximum (issue 41): survreg6 then steps with J'J, backs off by thirds, and declares
# convergence only after a full Newton step. The six rows of the issue, then seeded samples
# of 6-12 subjects (times 1-6, two strata) on which R needs 7 or more iterations.
six <- data.frame(time = c(10, 2, 2, 1, 7, 3), event = 1, grp = c("g1", "g0", "g1", "g0", "g1", "g0"),
                  x1 = c(-0.1, -0.7, 1.1, -0.9, 1.9, 0.8))
add_case("sr_six", six, "six subjects, two strata (issue 41)",
         list(survreg_entry("sr_six", six, c("x1"), "weibull", strata = "grp"),
              survreg_entry("sr_six", six, c("x1"), "weibull"),
              survreg_entry("sr_six", six, c("x1"), "lognormal", strata = "grp")))
set.seed(41)
hard <- 0
for (k in 1:40) {
  n <- sample(6:12, 1)
  d <- data.frame(time = sample(1:6, n, replace = TRUE), event = rbinom(n, 1, 0.8),
                  grp = sample(c("a", "b"), n, replace = TRUE), x1 = round(rnorm(n), 1))
  if (sum(d$event) < 3 || length(unique(d$grp)) < 2 || hard >= 6) next
  entries <- list()
  for (dist in c("weibull", "lognormal", "loglogistic")) {
    for (strata in list("grp", NULL)) {
      f <- tryCatch(survreg(if (is.null(strata)) Surv(time, event) ~ x1 else
                              Surv(time, event) ~ x1 + strata(grp), data = d, dist = dist),
                    warning = function(w) NULL, error = function(e) NULL)
      if (!is.null(f) && f$iter >= 7)
        entries[[length(entries) + 1]] <- survreg_entry(sprintf("sr_ties_%d", k), d, c("x1"),
                                                        dist, strata = strata)
    }
  }
  if (length(entries) > 0) {
    hard <- hard + 1
    add_case(sprintf("sr_ties_%d", k), d, sprintf("seeded sample %d: %d subjects, ties", k, n),
             entries)
  }
}

out <- list(
  dataset = "survreg",
  description = "Parametric survival regression (survival survreg)",
  r_version = R.version.string,
  survival_version = as.character(packageVersion("survival")),
  generated_by = "tests/oracle/survreg.R",
  cases = cases)
cat(json_value(out), "\n")
