# Cases for case-weighted Cox models (issue 14): the data and R's answers, in the layout of
# the golden files' "cox" entries, with `input.weight` (and `input.start` for counting-process
# data, `input.robust_arg` for an explicit robust = argument).
#
#   Rscript tests/oracle/weighted_cox.R > tests/data/oracle/weighted_cox.json
#
# R: fit <- coxph(Surv([entry,] time, event) ~ x + ... [+ strata(s)], weights = w, ties = t).
# coxph makes the variance robust by default when some weight is not a whole number
# (has.rwt): the sandwich D'D of the weighted dfbeta residuals, each row its own cluster; the
# Wald test and the z, p and confidence limits of each term then use it. Whole-number weights
# are frequencies (model-based variance). "se" is always the model-based standard error.
#
# R 4.2.2, survival 3.5-3 (Debian bookworm's r-cran-survival).
suppressMessages(library(survival))
invisible(Sys.setlocale("LC_COLLATE", "C"))
args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))
source(file.path(here, "json.R"))

cox_entry <- function(case, data, covariates, ties = "efron", entry = NULL, strata = NULL,
                      robust_arg = NULL, tag = "") {
  lhs <- if (is.null(entry)) "Surv(time, event)" else sprintf("Surv(%s, time, event)", entry)
  rhs <- paste(c(covariates, if (!is.null(strata)) sprintf("strata(%s)", strata)), collapse = " + ")
  f <- as.formula(paste(lhs, "~", rhs))
  fit <- if (is.null(robust_arg)) {
    coxph(f, data = data, weights = w, ties = ties)
  } else {
    coxph(f, data = data, weights = w, ties = ties, robust = robust_arg)
  }
  s <- summary(fit)
  co <- s$coefficients
  ci <- s$conf.int
  robust <- !is.null(fit$naive.var)
  terms <- lapply(seq_len(nrow(co)), function(i) {
    t <- list(name = rownames(co)[i], coef = unname(co[i, "coef"]),
              exp_coef = unname(co[i, "exp(coef)"]), se = unname(co[i, "se(coef)"]))
    if (robust) t$robust_se <- unname(co[i, "robust se"])
    c(t, list(z = unname(co[i, "z"]), p = unname(co[i, "Pr(>|z|)"]),
              lower_95 = unname(ci[i, "lower .95"]), upper_95 = unname(ci[i, "upper .95"])))
  })
  df <- sum(!is.na(fit$coefficients))
  chisq <- function(stat) list(statistic = unname(stat), df = df,
                               p = pchisq(unname(stat), df, lower.tail = FALSE))
  r_call <- sprintf("fit <- coxph(%s ~ %s, data, weights = w, ties = \"%s\"%s)", lhs, rhs, ties,
                    if (is.null(robust_arg)) "" else sprintf(", robust = %s", robust_arg))
  list(id = sprintf("%s/cox/%s/%s%s", case, paste(covariates, collapse = "_"), ties, tag),
       kind = "cox", source = "R", r_call = r_call,
       input = list(time = "time", event = "event", start = entry, covariates = I(covariates),
                    factors = NULL, strata = strata, cluster = NULL, ties = ties,
                    robust = robust, robust_arg = robust_arg, weight = "w", filter = NULL),
       result = list(n = fit$n, nevent = fit$nevent, method = ties, iterations = fit$iter,
                     loglik_null = fit$loglik[1], loglik = fit$loglik[2], terms = terms,
                     tests = list(likelihood_ratio = chisq(-2 * (fit$loglik[1] - fit$loglik[2])),
                                  wald = chisq(fit$wald.test), score = chisq(fit$score)),
                     concordance = list(concordance = unname(fit$concordance["concordance"]),
                                        std_err = unname(fit$concordance["std"]))),
       warnings = I(character(0)))
}

cases <- list()
add_case <- function(name, data, description, entries) {
  cases[[length(cases) + 1]] <<- list(id = name, description = description,
                                      data = as.list(data), entries = entries)
}

# Inverse-probability-of-treatment weights on R's lung data ("treatment" = female sex, the
# propensity from age and ECOG score), ECOG as a covariate, strata by institution group and a
# delayed entry column for counting-process fits.
lung2 <- lung[!is.na(lung$ph.ecog) & !is.na(lung$inst), ]
ps <- fitted(glm(I(sex == 2) ~ age + ph.ecog, family = binomial, data = lung2))
iptw <- data.frame(time = lung2$time, event = as.integer(lung2$status == 2),
                   female = as.integer(lung2$sex == 2), age = lung2$age, ecog = lung2$ph.ecog,
                   w = ifelse(lung2$sex == 2, 1 / ps, 1 / (1 - ps)),
                   site = ifelse(lung2$inst %% 3 == 0, "s0", ifelse(lung2$inst %% 3 == 1, "s1", "s2")),
                   entry = pmax(0, lung2$time - 200 - (lung2$age %% 7) * 40))
add_case("cox_iptw_lung", iptw, "R's lung data with IPTW weights: robust variance by default",
         list(cox_entry("cox_iptw_lung", iptw, c("female")),
              cox_entry("cox_iptw_lung", iptw, c("female", "age", "ecog")),
              cox_entry("cox_iptw_lung", iptw, c("female", "age", "ecog"), "breslow"),
              cox_entry("cox_iptw_lung", iptw, c("female", "ecog"), strata = "site"),
              cox_entry("cox_iptw_lung", iptw, c("female", "age"), entry = "entry", tag = "/entry"),
              cox_entry("cox_iptw_lung", iptw, c("female", "age"), robust_arg = FALSE,
                        tag = "/naive")))

# Whole-number (frequency) weights and heavy ties: model-based variance; the same
# fit as repeating each row w times.
freq <- data.frame(time = c(1, 1, 2, 2, 2, 3, 4, 4, 5, 5, 6, 7, 7, 8, 9, 10, 10, 11, 12, 12),
                   event = c(1, 0, 1, 1, 0, 1, 1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 0),
                   x = c(0.5, 1.2, -0.3, 2.0, 0.1, 1.5, -1.0, 0.7, 0.2, 1.1,
                         -0.4, 0.9, 1.8, -0.2, 0.6, 1.3, 0.0, -0.7, 2.2, 0.4),
                   g = c(0, 1, 1, 0, 1, 0, 1, 1, 0, 0, 1, 0, 1, 0, 1, 1, 0, 1, 0, 1),
                   w = c(2, 1, 3, 1, 1, 1, 4, 2, 1, 1, 2, 3, 1, 2, 1, 2, 1, 1, 1, 5),
                   entry = c(0, 0, 0, 1, 0, 2, 0, 1, 2, 0, 3, 0, 4, 2, 0, 6, 1, 0, 8, 3))
# (coxph refuses zero weights: "Invalid weights, must be >0"; so does survql.)
add_case("cox_freq_weights", freq, "whole-number weights and tied times",
         list(cox_entry("cox_freq_weights", freq, c("x", "g")),
              cox_entry("cox_freq_weights", freq, c("x", "g"), "breslow"),
              cox_entry("cox_freq_weights", freq, c("x"), entry = "entry", tag = "/entry"),
              cox_entry("cox_freq_weights", freq, c("x", "g"), robust_arg = TRUE,
                        tag = "/robust")))

out <- list(
  dataset = "weighted_cox",
  description = "Case-weighted Cox models (survival coxph, weights =)",
  r_version = R.version.string,
  survival_version = as.character(packageVersion("survival")),
  generated_by = "tests/oracle/weighted_cox.R",
  cases = cases)
cat(json_value(out), "\n")
