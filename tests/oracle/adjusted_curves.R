# Cases for direct-standardised (g-computation) survival curves after a Cox fit (issue 43):
# cox_adjusted_curve(time, event, grp, x1, ...). The data and R's answers.
#
#   Rscript tests/oracle/adjusted_curves.R > tests/data/oracle/adjusted_curves.json
#
# R: fit <- coxph(Surv(time, event) ~ grp + x1 + ..., ties = t) with grp a factor (levels in
# R's order: numbers numerically, text in C collation); the adjusted survival of level a at t
# is mean_j S(t | subject j with grp = a), S from survfit(fit, newdata) (Breslow or Efron
# baseline hazard). This equals riskRegression::ate(fit, treatment = "grp",
# estimator = "GFORMULA")$meanRisk (1 - estimate), asserted below on every entry.
#
# The standard error is the infinitesimal jackknife: the derivative of the estimate with
# respect to each subject's case weight, IF_i, SE = sqrt(sum IF_i^2), computed here in closed
# form from R's own pieces (residuals(fit, "dfbeta") for the coefficients, the risk sets for
# the baseline hazard; formulas in crates/survql-stats/src/cox_adjusted_curve.rs) and
# asserted equal to finite differences of weighted coxph + survfit fits (central
# differences, relative 1e-6) on samples with tied event times, Breslow and Efron.
#
# riskRegression: without tied event times its se (iidCox) equals the closed form to 1e-8
# (asserted on the untied cases). With tied times riskRegression's influence of the
# coefficients counts each distinct event time once in the score's compensator
# (IFbeta_cpp: "iS0_iter += 1/S01"), where the weight derivative and R's dfbeta count every
# death: its se then differs (recorded as riskregression_std_err, e.g. 0.5% on lung). survql
# follows the derivative.
#
# Confidence limits as ate's: plain (default, ate's meanRisk.transform = "none") S -/+ z se
# cut to [0, 1]; conf_type=log-log is ate's "cloglog" of the risk, asserted equal.
#
# Output: the edge_cases.json layout, entries of kind "cox_adjusted_curve" whose result is
# the list of (grp, time, surv, std_err, lower, upper), levels in order, times ascending.
# R 4.2.2, survival 3.5-3, riskRegression 2022.11.28 (Debian bookworm).
suppressMessages({library(survival); library(riskRegression)})
invisible(Sys.setlocale("LC_COLLATE", "C"))
args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))
source(file.path(here, "json.R"))

levels_of <- function(g) {
  num <- suppressWarnings(as.numeric(as.character(g)))
  if (all(!is.na(num))) as.character(sort(unique(num))) else sort(unique(as.character(g)))
}
as_factor <- function(g) {
  num <- suppressWarnings(as.numeric(as.character(g)))
  lab <- if (all(!is.na(num))) as.character(num) else as.character(g)
  factor(lab, levels = levels_of(g))
}
control <- coxph.control(eps = 1e-14, iter.max = 100, toler.chol = 1e-15)

model_frame <- function(data, grp, covariates) {
  d <- data.frame(time = data$time, event = data$event, g__ = as_factor(data[[grp]]))
  for (c in covariates) d[[c]] <- if (is.character(data[[c]])) factor(data[[c]]) else data[[c]]
  d
}
model_formula <- function(covariates) {
  as.formula(paste("Surv(time, event) ~", paste(c("g__", covariates), collapse = " + ")))
}

# The adjusted curves and their infinitesimal-jackknife SE in closed form.
adjusted_ij <- function(fit, d, times) {
  X <- model.matrix(fit); beta <- coef(fit); beta[is.na(beta)] <- 0
  n <- nrow(X); ties <- fit$method
  Xc <- sweep(X, 2, fit$means)
  r <- exp(drop(Xc %*% beta))
  tm <- fit$y[, 1]; st <- fit$y[, 2]
  ut <- sort(unique(tm[st == 1])); K <- length(ut)
  dL <- h <- k <- nd <- numeric(K); A <- matrix(0, K, ncol(X))
  for (q in seq_len(K)) {
    R <- tm >= ut[q]; D <- which(tm == ut[q] & st == 1); m <- length(D)
    S0 <- sum(r[R]); S1 <- colSums(Xc[R, , drop = FALSE] * r[R])
    Sd <- sum(r[D]); S1d <- colSums(Xc[D, , drop = FALSE] * r[D])
    f <- if (ties == "efron") (0:(m - 1)) / m else rep(0, m)
    den <- S0 - f * Sd
    dL[q] <- sum(1 / den); h[q] <- sum(1 / den^2); k[q] <- sum(f / den^2); nd[q] <- m
    A[q, ] <- colSums(t(outer(S1, rep(1, m)) - outer(S1d, f)) / den^2)
  }
  ib <- residuals(fit, type = "dfbeta")
  if (is.null(dim(ib))) ib <- matrix(ib, ncol = 1)
  cols <- paste0("g__", levels(d$g__))
  Hc <- c(0, cumsum(h))
  out <- list()
  for (a in seq_along(levels(d$g__))) {
    Z <- X; for (c in intersect(cols[-1], colnames(X))) Z[, c] <- as.numeric(c == cols[a])
    Zc <- sweep(Z, 2, fit$means); ra <- exp(drop(Zc %*% beta))
    surv <- se <- numeric(length(times))
    for (ti in seq_along(times)) {
      t <- times[ti]; inq <- ut <= t
      L <- sum(dL[inq]); At <- colSums(A[inq, , drop = FALSE])
      Sj <- exp(-L * ra); th <- mean(Sj)
      qi <- match(tm, ut)
      own <- ifelse(st == 1 & tm <= t, dL[qi] / nd[qi] + r * k[qi], 0)
      own[is.na(own)] <- 0
      Hi <- Hc[1 + findInterval(pmin(tm, t), ut)]
      iL <- own - r * Hi - drop(ib %*% At)
      m0 <- mean(Sj * ra); m1 <- colMeans(Sj * L * ra * Zc)
      iid <- (Sj - th) / n - m0 * iL - drop(ib %*% m1)
      surv[ti] <- th; se[ti] <- sqrt(sum(iid^2))
    }
    out[[a]] <- data.frame(grp = levels(d$g__)[a], time = times, surv = surv, std_err = se)
  }
  do.call(rbind, out)
}

# d theta / d w_i by central differences of weighted fits (the definition of the SE above).
finite_difference_se <- function(d, covariates, ties, times, h = 1e-5) {
  theta <- function(w) {
    dd <- d; dd$w__ <- w
    assign("dd_fd", dd, envir = globalenv())
    fit <- coxph(model_formula(covariates), data = dd_fd, weights = w__, ties = ties, control = control)
    unlist(lapply(levels(d$g__), function(l) {
      nd <- dd_fd; nd$g__ <- factor(l, levels = levels(d$g__))
      s <- summary(survfit(fit, newdata = nd), times = times, extend = TRUE)$surv
      if (is.null(dim(s))) s <- matrix(s, nrow = length(times))
      colSums(t(s) * w) / sum(w)
    }))
  }
  n <- nrow(d); G <- NULL
  for (i in 1:n) {
    wp <- rep(1, n); wp[i] <- 1 + h; wm <- rep(1, n); wm[i] <- 1 - h
    G <- rbind(G, (theta(wp) - theta(wm)) / (2 * h))
  }
  sqrt(colSums(G^2))
}

limits <- function(s, se, z, conf_type) {
  if (conf_type == "plain") return(cbind(pmax(s - z * se, 0), pmin(s + z * se, 1)))
  # log-log: exp(-exp(log(-log S) -/+ z se / (S |log S|))), undefined at S = 1.
  ll <- log(-log(s)); w <- z * se / (s * log(s))
  out <- cbind(exp(-exp(ll - w)), exp(-exp(ll + w)))
  out[s == 1 | s == 0, ] <- NA
  out
}

entry <- function(case, data, grp, covariates, ties = "efron", times = NULL,
                  conf_type = "plain", conf_level = 0.95, untied = FALSE) {
  d <- model_frame(data, grp, covariates)
  fit <- coxph(model_formula(covariates), data = d, ties = ties, control = control, x = TRUE, y = TRUE)
  all_times <- sort(unique(d$time[d$event == 1]))
  at <- if (is.null(times)) all_times else times
  ij <- adjusted_ij(fit, d, at)
  z <- qnorm(1 - (1 - conf_level) / 2)
  lim <- limits(ij$surv, ij$std_err, z, conf_type)
  ij$lower <- lim[, 1]; ij$upper <- lim[, 2]
  # riskRegression's estimate (and, without ties, its se and limits) equal the closed form.
  a <- ate(fit, treatment = "g__", data = d, times = at, cause = 1, se = TRUE, verbose = FALSE)
  mr <- as.data.frame(if (conf_type == "plain") a$meanRisk else
                        confint(a, level = conf_level, meanRisk.transform = "cloglog")$meanRisk)
  if (conf_type == "plain" && conf_level != 0.95) mr <- as.data.frame(confint(a, level = conf_level)$meanRisk)
  key <- paste(mr$treatment, mr$time); mine <- paste(ij$grp, ij$time)
  mr <- mr[match(mine, key), ]
  stopifnot(max(abs(1 - mr$estimate - ij$surv)) < 1e-10)
  if (untied) {
    stopifnot(max(abs(mr$se - ij$std_err) / pmax(ij$std_err, 1e-300)) < 1e-8)
    ok <- !is.na(ij$lower)
    stopifnot(max(abs(1 - mr$upper[ok] - ij$lower[ok])) < 1e-8,
              max(abs(1 - mr$lower[ok] - ij$upper[ok])) < 1e-8)
  }
  # No covariate beside grp: the curve of each level is survfit's for that level (cox_curve).
  if (length(covariates) == 0) {
    for (l in levels(d$g__)) {
      s <- summary(survfit(fit, newdata = data.frame(g__ = factor(l, levels = levels(d$g__)))),
                   times = at, extend = TRUE)$surv
      stopifnot(max(abs(s - ij$surv[ij$grp == l])) < 1e-12)
    }
  }
  options <- c(if (ties != "efron") paste0("ties=", ties),
               if (conf_type != "plain") paste0("conf_type=", conf_type),
               if (conf_level != 0.95) paste0("conf_level=", conf_level),
               if (!is.null(times)) paste0("times=", paste(times, collapse = " ")))
  id <- paste0(case, "/adjusted/", grp, "/", paste(covariates, collapse = "_"), "/", ties,
               if (!is.null(times)) paste0("/t", length(times)) else "",
               if (conf_type != "plain") paste0("/", conf_type) else "",
               if (conf_level != 0.95) paste0("/", conf_level) else "")
  points <- lapply(seq_len(nrow(ij)), function(i) as.list(ij[i, ]))
  list(id = id, kind = "cox_adjusted_curve", source = "R (survival 3.5-3; riskRegression::ate)",
       r_call = sprintf("ate(coxph(Surv(time, event) ~ factor(%s)%s, ties = '%s'), treatment = '%s', times = %s)",
                        grp, paste0(" + ", covariates, collapse = ""), ties, grp,
                        if (is.null(times)) "<event times>" else paste(format(times), collapse = ",")),
       input = list(grp = grp, covariates = I(as.list(covariates)), options = paste(options, collapse = ", ")),
       riskregression_std_err = mr$se,
       result = points)
}

error_entry <- function(case, grp, covariates, options, error) {
  list(id = paste0(case, "/adjusted_error/", gsub("[^a-z0-9]+", "_", options)),
       kind = "cox_adjusted_curve", source = "survql's rule (riskRegression predicts NA past the last time)",
       r_call = "", input = list(grp = grp, covariates = I(as.list(covariates)), options = options),
       error = error)
}

cases <- list()
add_case <- function(name, data, description, entries) {
  cases[[length(cases) + 1]] <<- list(id = name, description = description,
                                      data = as.list(data), entries = entries)
}

# The IJ closed form against finite differences, with tied event times, both ties methods.
set.seed(43)
fd <- na.omit(data.frame(time = as.numeric(lung$time), event = lung$status - 1, sex = lung$sex,
                         age = lung$age, ph_ecog = lung$ph.ecog))
fd <- fd[sample(nrow(fd), 60), ]
stopifnot(any(duplicated(fd$time[fd$event == 1])))
for (ties in c("breslow", "efron")) {
  d <- model_frame(fd, "sex", c("age", "ph_ecog"))
  fit <- coxph(model_formula(c("age", "ph_ecog")), data = d, ties = ties, control = control)
  ij <- adjusted_ij(fit, d, c(100, 300, 500))
  num <- finite_difference_se(d, c("age", "ph_ecog"), ties, c(100, 300, 500))
  stopifnot(max(abs(ij$std_err / num - 1)) < 1e-6)
}

# R's lung (complete rows of sex, age, ph.ecog): by sex adjusted for age and ECOG score, at
# every event time (Efron) and at chosen times (Breslow; log-log limits; 90% limits); the
# unadjusted curves; the same data with ties broken (uniform jitter < 0.5 day), where
# riskRegression's se is the closed form's.
lung2 <- na.omit(data.frame(time = as.numeric(lung$time), event = lung$status - 1,
                            sex = lung$sex, age = lung$age, ph_ecog = lung$ph.ecog))
set.seed(7)
lung_untied <- lung2
lung_untied$time <- lung_untied$time + round(runif(nrow(lung2), 0, 0.5), 4)
stopifnot(!any(duplicated(lung_untied$time)))
add_case("adjusted_lung", lung2, "R survival's lung by sex (1 male, 2 female), complete rows",
         list(entry("adjusted_lung", lung2, "sex", c("age", "ph_ecog")),
              entry("adjusted_lung", lung2, "sex", c("age", "ph_ecog"), ties = "breslow", times = c(5, 100, 365, 700, 1000)),
              entry("adjusted_lung", lung2, "sex", c("age", "ph_ecog"), times = c(30, 180, 365), conf_type = "log-log"),
              entry("adjusted_lung", lung2, "sex", c("age"), times = c(180, 365), conf_level = 0.9),
              entry("adjusted_lung", lung2, "sex", character(0)),
              error_entry("adjusted_lung", "sex", c("age"), "times=2000",
                          "option 'times' must be at most the last follow-up time 1022")))
add_case("adjusted_lung_untied", lung_untied, "lung as above, ties broken by a seeded jitter < 0.5 day",
         list(entry("adjusted_lung_untied", lung_untied, "sex", c("age", "ph_ecog"), untied = TRUE),
              entry("adjusted_lung_untied", lung_untied, "sex", c("age", "ph_ecog"), ties = "breslow",
                    times = c(100, 365, 700), conf_type = "log-log", untied = TRUE)))

# R's veteran: by cell type (four text levels) adjusted for Karnofsky score, age and treatment.
vet <- data.frame(time = as.numeric(veteran$time), event = veteran$status,
                  celltype = as.character(veteran$celltype), karno = veteran$karno,
                  age = veteran$age, trt = veteran$trt)
add_case("adjusted_veteran", vet, "R survival's veteran by cell type",
         list(entry("adjusted_veteran", vet, "celltype", c("karno", "age", "trt")),
              entry("adjusted_veteran", vet, "trt", c("karno", "celltype"), ties = "breslow",
                    times = c(30, 90, 180, 365))))

# Seeded: three numeric arms whose text order is not their numeric order (9, 10, 11), a
# numeric and a text covariate, continuous times (no ties: riskRegression's se exactly).
set.seed(20261208)
n <- 150
rnd <- data.frame(arm = sample(c(9, 10, 11), n, replace = TRUE), x = round(rnorm(n), 3),
                  site = sample(c("north", "south", "east"), n, replace = TRUE))
lp <- 0.4 * (rnd$arm == 10) - 0.5 * (rnd$arm == 11) + 0.6 * rnd$x + 0.3 * (rnd$site == "south")
rnd$time <- round(rexp(n, 0.1 * exp(lp)), 6)
cens <- round(runif(n, 0, 25), 6)
rnd$event <- as.numeric(rnd$time <= cens)
rnd$time <- pmin(rnd$time, cens)
stopifnot(!any(duplicated(rnd$time)))
add_case("adjusted_random", rnd, "seeded: three numeric arms, a numeric and a text covariate, no ties",
         list(entry("adjusted_random", rnd, "arm", c("x", "site"), untied = TRUE),
              entry("adjusted_random", rnd, "arm", c("x", "site"), times = c(1, 5, 10, 20), conf_level = 0.99, untied = TRUE)))

cat(json_value(list(description = "cox_adjusted_curve against riskRegression::ate and the infinitesimal jackknife", cases = cases)), "\n")
