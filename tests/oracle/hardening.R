# R's answers for the hardening cases (issue 11): Cox fits, concordance and cox.zph on data
# with near-tied times (which coxph merges with aeqSurv before everything), and cox.zph with
# covariates of very different scales (x and x / 1e6 give the same test in R).
#
#   Rscript tests/oracle/hardening.R > tests/data/oracle/hardening.json
#
# Output: the edge_cases.json layout (cases with their data and entries) read by the golden
# Cox tests. R 4.2.2, survival 3.5-3 (Debian bookworm's r-cran-survival).
suppressMessages(library(survival))
invisible(Sys.setlocale("LC_COLLATE", "C"))
args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))
source(file.path(here, "json.R"))

cox_entry <- function(id, data_name, data, covariates, ties = "efron", robust = FALSE,
                      strata = NULL, start = NULL) {
  lhs <- if (is.null(start)) "Surv(time, event)" else "Surv(start, time, event)"
  rhs <- paste(covariates, collapse = " + ")
  if (!is.null(strata)) rhs <- paste0(rhs, " + strata(", strata, ")")
  call <- sprintf("coxph(%s ~ %s, data = %s, ties = \"%s\"%s)", lhs, rhs, data_name, ties,
                  if (robust) ", robust = TRUE" else "")
  fit <- eval(parse(text = call), list2env(setNames(list(data), data_name)))
  s <- summary(fit)
  co <- s$coefficients
  ci <- s$conf.int
  terms <- lapply(seq_len(nrow(co)), function(i) {
    list(name = rownames(co)[i], coef = unname(co[i, "coef"]),
         exp_coef = unname(co[i, "exp(coef)"]), se = unname(co[i, "se(coef)"]),
         robust_se = if (robust) unname(co[i, "robust se"]) else NA,
         z = unname(co[i, "z"]), p = unname(co[i, "Pr(>|z|)"]),
         lower_95 = unname(ci[i, "lower .95"]), upper_95 = unname(ci[i, "upper .95"]))
  })
  df <- sum(!is.na(fit$coefficients))
  test <- function(stat) list(statistic = stat, df = df,
                              p = pchisq(stat, df, lower.tail = FALSE))
  cc <- fit$concordance
  list(
    id = id, kind = "cox", r_call = paste0("fit <- ", call),
    input = list(time = "time", event = "event", start = if (is.null(start)) NA else start,
                 covariates = as.list(covariates), factors = NA,
                 strata = if (is.null(strata)) NA else strata, cluster = NA, ties = ties,
                 robust = robust, filter = NA),
    result = list(
      n = fit$n, nevent = fit$nevent, method = fit$method, iterations = fit$iter,
      loglik_null = fit$loglik[1], loglik = fit$loglik[2], terms = terms,
      tests = list(likelihood_ratio = test(-2 * (fit$loglik[1] - fit$loglik[2])),
                   wald = test(unname(fit$wald.test)), score = test(unname(fit$score))),
      concordance = list(concordance = unname(cc["concordance"]), std_err = unname(cc["std"]),
                         concordant = unname(cc["concordant"]),
                         discordant = unname(cc["discordant"]),
                         tied_x = unname(cc["tied.x"]), tied_y = unname(cc["tied.y"]),
                         tied_xy = unname(cc["tied.xy"]))),
    warnings = list())
}

zph_entry <- function(id, data_name, data, covariates, transform) {
  fitcall <- sprintf("coxph(Surv(time, event) ~ %s, data = %s, ties = \"efron\")",
                     paste(covariates, collapse = " + "), data_name)
  fit <- eval(parse(text = fitcall), list2env(setNames(list(data), data_name)))
  z <- cox.zph(fit, transform = transform)
  tab <- z$table
  k <- nrow(tab) - 1
  list(
    id = id, kind = "cox_zph",
    r_call = sprintf("cox.zph(%s, transform = \"%s\")", fitcall, transform),
    input = list(fit = fitcall),
    result = list(
      transform = transform, terms_grouped = TRUE,
      terms = lapply(seq_len(k), function(i) list(name = rownames(tab)[i],
                                                  chisq = tab[i, "chisq"], df = tab[i, "df"],
                                                  p = tab[i, "p"])),
      global = list(chisq = tab[k + 1, "chisq"], df = tab[k + 1, "df"], p = tab[k + 1, "p"])),
    warnings = list())
}

columns <- function(d) lapply(as.list(d), function(v) I(v))

# --- near_ties: a third of the times moved by 1e-9 (R merges them: tolerance
# sqrt(eps) * mean |time| is about 2e-7 here); start times near-tied with stop times.
set.seed(11)
n <- 80
base <- sample(1:25, n, replace = TRUE) * 1.0
jitter <- ifelse(runif(n) < 0.35, sample(c(-1, 1), n, replace = TRUE) * 1e-9, 0)
near_ties <- data.frame(
  time = base + jitter,
  event = rbinom(n, 1, 0.7),
  x1 = round(rnorm(n), 3),
  x2 = rbinom(n, 1, 0.5),
  grp = sample(c("a", "b"), n, replace = TRUE))
near_ties$start <- ifelse(runif(n) < 0.5, 0,
                          floor(near_ties$time / 2) + sample(c(-1, 1), n, TRUE) * 1e-9)
near_ties$start <- pmax(near_ties$start, 0)
stopifnot(all(near_ties$start < near_ties$time))
stopifnot(length(unique(near_ties$time)) > length(unique(round(near_ties$time))))

nt <- list(
  cox_entry("near_ties/cox/efron", "near_ties", near_ties, c("x1", "x2")),
  cox_entry("near_ties/cox/breslow_robust", "near_ties", near_ties, c("x1", "x2"),
            ties = "breslow", robust = TRUE),
  cox_entry("near_ties/cox/strata", "near_ties", near_ties, c("x1", "x2"), strata = "grp"),
  cox_entry("near_ties/cox/counting", "near_ties", near_ties, c("x1", "x2"), start = "start"),
  zph_entry("near_ties/cox_zph/km", "near_ties", near_ties, c("x1", "x2"), "km"),
  zph_entry("near_ties/cox_zph/identity", "near_ties", near_ties, c("x1", "x2"), "identity"),
  zph_entry("near_ties/cox_zph/rank", "near_ties", near_ties, c("x1", "x2"), "rank"))

# --- scale_zph: a cost in currency units next to age and a 0/1 covariate.
set.seed(7)
n <- 120
scale_zph <- data.frame(
  time = round(rexp(n, 0.1), 2) + 0.01,
  event = rbinom(n, 1, 0.75),
  cost = round(rnorm(n, 2.5e6, 8e5)),
  age = round(rnorm(n, 60, 10)),
  female = rbinom(n, 1, 0.5))
scale_zph$cost_m <- scale_zph$cost / 1e6
sz <- list()
for (tr in c("km", "identity", "log")) {
  a <- zph_entry(paste0("scale_zph/cox_zph/raw/", tr), "scale_zph", scale_zph,
                 c("cost", "age", "female"), tr)
  b <- zph_entry(paste0("scale_zph/cox_zph/millions/", tr), "scale_zph", scale_zph,
                 c("cost_m", "age", "female"), tr)
  # The premise of the test: R's answer does not depend on the unit of cost.
  stopifnot(isTRUE(all.equal(a$result$global$chisq, b$result$global$chisq, tolerance = 1e-8)))
  sz <- c(sz, list(a, b))
}
sz <- c(sz, list(cox_entry("scale_zph/cox/raw", "scale_zph", scale_zph,
                           c("cost", "age", "female"))))

out <- list(
  dataset = "hardening",
  description = "Cox near-tie merging (aeqSurv) in every path, and cox.zph scale invariance",
  r_version = R.version.string,
  survival_version = as.character(packageVersion("survival")),
  generated_by = "tests/oracle/hardening.R",
  cases = list(
    list(id = "near_ties", description = "Times within 1e-9 of each other, merged by aeqSurv",
         data = columns(near_ties), entries = nt),
    list(id = "scale_zph", description = "A covariate in the millions next to small ones",
         data = columns(scale_zph), entries = sz)))
cat(json_value(out), "\n")
