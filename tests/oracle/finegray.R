# Cases for the Fine-Gray model (issue 14): the data and cmprsk's answers.
#
#   Rscript tests/oracle/finegray.R > tests/data/oracle/finegray.json
#
# R: fit <- cmprsk::crr(time, status, model.matrix(~ x1 + ...)[, -1], failcode = cause,
# cencode = 0): fit$coef, sqrt(diag(fit$var)), z = coef / se, p = 2 pnorm(-|z|),
# exp(coef) and its 95% limits exp(coef -/+ qnorm(0.975) se) (summary.crr's conf.int),
# fit$loglik, fit$loglik.null (pseudo log-likelihoods), fit$converged; "lr" is summary.crr's
# pseudo likelihood ratio test 2 (loglik - loglik.null) on the number of coefficients, "wald"
# b' var^-1 b on the same df. Factor covariates are expanded by model.matrix with treatment
# contrasts (levels in byte order), as cox_ph does.
#
# Output: the edge_cases.json layout, entries of kind "finegray".
# R 4.2.2, survival 3.5-3, cmprsk 2.2-11 (Debian bookworm's r-cran-survival, r-cran-cmprsk).
suppressMessages(library(survival))
suppressMessages(library(cmprsk))
invisible(Sys.setlocale("LC_COLLATE", "C"))
args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))
source(file.path(here, "json.R"))

fg_entry <- function(case, data, cause, covariates, conf_level = 0.95) {
  mm <- model.matrix(as.formula(paste("~", paste(covariates, collapse = " + "))), data = data)
  mm <- mm[, -1, drop = FALSE]
  fit <- crr(data$time, data$status, mm, failcode = cause, cencode = 0)
  se <- sqrt(diag(fit$var))
  z <- fit$coef / se
  q <- qnorm(1 - (1 - conf_level) / 2)
  terms <- lapply(seq_along(fit$coef), function(i) {
    list(name = colnames(mm)[i], coef = unname(fit$coef[i]), exp_coef = exp(unname(fit$coef[i])),
         se = unname(se[i]), z = unname(z[i]), p = 2 * pnorm(-abs(unname(z[i]))),
         lower = exp(unname(fit$coef[i]) - q * unname(se[i])),
         upper = exp(unname(fit$coef[i]) + q * unname(se[i])))
  })
  df <- length(fit$coef)
  lr <- 2 * (fit$loglik - fit$loglik.null)
  wald <- drop(t(fit$coef) %*% solve(fit$var) %*% fit$coef)
  list(id = sprintf("%s/finegray/cause%d/%s%s", case, cause, paste(covariates, collapse = "_"),
                    if (conf_level == 0.95) "" else paste0("/", conf_level)),
       kind = "finegray", source = "R cmprsk",
       r_call = sprintf("crr(time, status, model.matrix(~ %s)[, -1], failcode = %d, cencode = 0)",
                        paste(covariates, collapse = " + "), cause),
       input = list(time = "time", status = "status", cause = cause, covariates = I(covariates),
                    conf_level = conf_level),
       result = list(n = fit$n, events = sum(data$status == cause), converged = fit$converged,
                     loglik = fit$loglik, loglik_null = fit$loglik.null,
                     lr = list(statistic = lr, df = df, p = pchisq(lr, df, lower.tail = FALSE)),
                     wald = list(statistic = wald, df = df,
                                 p = pchisq(wald, df, lower.tail = FALSE)),
                     terms = terms))
}

cases <- list()
add_case <- function(name, data, description, entries) {
  cases[[length(cases) + 1]] <<- list(id = name, description = description,
                                      data = as.list(data), entries = entries)
}

# R's mgus2: progression (1) vs death without progression (2), as in survival's "compete"
# vignette (which fits the same model with finegray() + coxph); rows with hgb known.
m <- mgus2[!is.na(mgus2$hgb), ]
mg <- data.frame(time = ifelse(m$pstat == 1, m$ptime, m$futime),
                 status = ifelse(m$pstat == 1, 1, 2 * m$death),
                 age = m$age, sex = as.character(m$sex), hgb = m$hgb)
add_case("fg_mgus2", mg, "R survival's mgus2: progression (1) vs death (2)",
         list(fg_entry("fg_mgus2", mg, 1, c("age", "sex")),
              fg_entry("fg_mgus2", mg, 2, c("age", "sex", "hgb")),
              fg_entry("fg_mgus2", mg, 1, c("age", "sex", "hgb"), 0.9)))

# Heavy ties across causes and censorings at failure times, three causes, a three-level
# factor; deterministic pseudo-random data.
set.seed(20261130)
n <- 300
grp <- sample(c("a", "b", "c"), n, replace = TRUE)
x <- round(rnorm(n), 2)
base <- rexp(n, rate = 0.1 * exp(0.4 * x + ifelse(grp == "b", 0.5, ifelse(grp == "c", -0.3, 0))))
ties <- data.frame(time = pmax(1, round(base)),
                   status = sample(0:3, n, replace = TRUE, prob = c(0.25, 0.35, 0.25, 0.15)),
                   x = x, grp = grp)
add_case("fg_ties", ties, "rounded times (heavy ties), three causes, a factor",
         list(fg_entry("fg_ties", ties, 1, c("x", "grp")),
              fg_entry("fg_ties", ties, 3, c("x")),
              fg_entry("fg_ties", ties, 2, c("grp", "x"))))

# Near-tied times (issue 41): crr's censoring curve comes from survfit, which merges times
# closer than R's tolerance (aeqSurv, timefix = TRUE) while crr's risk sets keep the raw
# times. The ten rows of the issue (a censoring 3e-11 after a failure), then random data
# where a quarter of the times sit within 1e-9 (relative) of another row's time.
near <- data.frame(time = c(1.0, 2.0, 3.0, 3.00000000003, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0),
                   status = c(1, 2, 1, 0, 1, 0, 2, 1, 1, 0),
                   x = c(0.5, -1.0, 1.2, 0.3, -0.4, 0.8, -0.2, 1.5, -0.9, 0.1))
add_case("fg_near_ties", near, "a censoring 3e-11 after a failure (merged in G only)",
         list(fg_entry("fg_near_ties", near, 1, c("x")),
              fg_entry("fg_near_ties", near, 2, c("x"))))
set.seed(20261207)
n <- 120
base <- round(rexp(n, 0.1), 1) + 0.1
jitter <- ifelse(runif(n) < 0.25, base * (1 + sample(c(-1, 1), n, replace = TRUE) * 1e-9), base)
near2 <- data.frame(time = jitter,
                    status = sample(0:2, n, replace = TRUE, prob = c(0.35, 0.4, 0.25)),
                    x = round(rnorm(n), 2), z = rbinom(n, 1, 0.4))
add_case("fg_near_ties_random", near2, "rounded times, a quarter moved by 1e-9 (relative)",
         list(fg_entry("fg_near_ties_random", near2, 1, c("x", "z")),
              fg_entry("fg_near_ties_random", near2, 2, c("x"))))

out <- list(
  dataset = "finegray",
  description = "Fine-Gray subdistribution hazards (cmprsk crr)",
  r_version = R.version.string,
  survival_version = as.character(packageVersion("survival")),
  cmprsk_version = as.character(packageVersion("cmprsk")),
  generated_by = "tests/oracle/finegray.R",
  cases = cases)
cat(json_value(out), "\n")
