# Cases for predicted survival curves after a Cox fit (issue 16): the data and R's answers.
#
#   Rscript tests/oracle/cox_curve.R > tests/data/oracle/cox_curve.json
#
# R: fit <- coxph(Surv([start,] time, event) ~ x1 + ... [+ strata(s)] [+ cluster(id)],
#                 data, ties = t [, weights = w]);
#    sf <- survfit(fit, newdata = profile, conf.type = ct, conf.int = level)
# (no newdata: the curve at fit$means, R's default, which is basehaz(fit, centered = TRUE);
# the profile of zeros is basehaz(fit, centered = FALSE), checked below). The curve: sf$time
# (every distinct time of the stratum), sf$surv = exp(-sf$cumhaz) (stype 2), sf$cumhaz (the
# Breslow hazard for ties = breslow/exact, Efron's for efron: survival's agsurv), std_err =
# sf$std.err * sf$surv (the SE of S, as summary(sf)$std.err; sf$std.err is the SE of the
# cumulative hazard, with the coefficients' variance term: Tsiatis / agsurv), sf$lower,
# sf$upper. With robust variance (non-integer weights, cluster) fit$var is the robust one,
# and survfit uses it.
#
# Output: entries of kind "cox_curve": input.profile is {covariate: value} (strata: the
# stratum's label), or null for the default curve; input.centered false for the zeros.
# R 4.2.2, survival 3.5-3 (Debian bookworm's r-cran-survival).
suppressMessages(library(survival))
invisible(Sys.setlocale("LC_COLLATE", "C"))
args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))
source(file.path(here, "json.R"))

curve_entry <- function(case, data, covariates, profile = NULL, ties = "efron",
                        conf_type = "log", conf_level = 0.95, start = NULL, strata = NULL,
                        weight = NULL, cluster = NULL, centered = TRUE, tag = "") {
  lhs <- if (is.null(start)) "Surv(time, event)" else sprintf("Surv(%s, time, event)", start)
  rhs <- paste(c(covariates, if (!is.null(strata)) sprintf("strata(%s)", strata),
                 if (!is.null(cluster)) sprintf("cluster(%s)", cluster)), collapse = " + ")
  f <- as.formula(paste(lhs, "~", rhs))
  data$w__ <- if (is.null(weight)) rep(1, nrow(data)) else data[[weight]]
  fit <- if (is.null(weight)) coxph(f, data = data, ties = ties)
         else coxph(f, data = data, ties = ties, weights = w__)
  nd <- profile
  if (!centered) {
    nd <- as.list(setNames(rep(0, length(covariates)), covariates))
  }
  sf <- if (is.null(nd)) {
    survfit(fit, conf.type = conf_type, conf.int = conf_level)
  } else {
    survfit(fit, newdata = as.data.frame(nd, stringsAsFactors = FALSE),
            conf.type = conf_type, conf.int = conf_level)
  }
  if (!centered) {
    # basehaz(fit, centered = FALSE) is this curve's cumulative hazard.
    bh <- basehaz(fit, centered = FALSE)
    stopifnot(isTRUE(all.equal(bh$hazard, sf$cumhaz, tolerance = 1e-12)))
  }
  if (is.null(nd) && is.null(strata)) {
    bh <- basehaz(fit, centered = TRUE)
    stopifnot(isTRUE(all.equal(bh$hazard, sf$cumhaz, tolerance = 1e-12)))
  }
  none <- conf_type == "none"
  list(id = sprintf("%s/cox_curve/%s/%s/%s%s", case, paste(covariates, collapse = "_"), ties,
                    conf_type, tag),
       kind = "cox_curve", source = "R",
       r_call = sprintf("survfit(coxph(%s ~ %s, data, ties = \"%s\"%s), newdata = %s, conf.type = \"%s\", conf.int = %s)",
                        lhs, rhs, ties, if (is.null(weight)) "" else ", weights = w",
                        if (is.null(nd)) "<missing>" else deparse(nd), conf_type, conf_level),
       input = list(time = "time", event = "event", start = start, covariates = I(covariates),
                    strata = strata, weight = weight, cluster = cluster, ties = ties,
                    conf_type = conf_type, conf_level = conf_level, centered = centered,
                    profile = profile),
       result = list(time = I(sf$time), surv = I(sf$surv), cumhaz = I(sf$cumhaz),
                     std_err = I(sf$std.err * sf$surv),
                     lower = if (none) NULL else I(sf$lower),
                     upper = if (none) NULL else I(sf$upper)))
}

cases <- list()
add_case <- function(name, data, description, entries) {
  cases[[length(cases) + 1]] <<- list(id = name, description = description,
                                      data = as.list(data), entries = entries)
}

# R's lung data (rows with the ECOG score): numeric covariates, an aliased one (age2 = 2 age),
# strata by sex, IPTW weights ("treatment" = female sex).
lg <- lung[!is.na(lung$ph.ecog), ]
ps <- fitted(glm(I(sex == 2) ~ age + ph.ecog, family = binomial, data = lg))
lung2 <- data.frame(time = lg$time, event = as.integer(lg$status == 2), age = lg$age,
                    age2 = 2 * lg$age, sex = lg$sex, ecog = lg$ph.ecog,
                    female = as.integer(lg$sex == 2),
                    w = ifelse(lg$sex == 2, 1 / ps, 1 / (1 - ps)))
p1 <- list(age = 60, sex = 1, ecog = 1)
add_case("curve_lung", lung2, "R's lung data: curves for covariate profiles",
         list(curve_entry("curve_lung", lung2, c("age", "sex", "ecog"), p1),
              curve_entry("curve_lung", lung2, c("age", "sex", "ecog"), NULL, tag = "/mean"),
              curve_entry("curve_lung", lung2, c("age", "sex", "ecog"), centered = FALSE,
                          tag = "/zero"),
              curve_entry("curve_lung", lung2, c("age", "sex", "ecog"), p1, "breslow",
                          "log-log", 0.9),
              curve_entry("curve_lung", lung2, c("age", "sex", "ecog"),
                          list(age = 75, sex = 2, ecog = 3), "exact", "plain"),
              curve_entry("curve_lung", lung2, c("age", "sex", "ecog"), p1, "efron", "logit"),
              curve_entry("curve_lung", lung2, c("age", "sex", "ecog"), p1, "efron", "arcsin"),
              curve_entry("curve_lung", lung2, c("age", "age2", "ecog"),
                          list(age = 60, age2 = 120, ecog = 2), tag = "/aliased"),
              curve_entry("curve_lung", lung2, c("age", "ecog"),
                          list(age = 60, ecog = 1, sex = 2), strata = "sex", tag = "/strata2"),
              curve_entry("curve_lung", lung2, c("age", "ecog"),
                          list(age = 70, ecog = 0, sex = 1), "breslow", strata = "sex",
                          tag = "/strata1"),
              curve_entry("curve_lung", lung2, c("female", "age"),
                          list(female = 1, age = 60), weight = "w", tag = "/iptw")))

# R's veteran data: a factor (cell type, reference "adeno") and a logical covariate.
vet <- data.frame(time = veteran$time, event = veteran$status, karno = veteran$karno,
                  celltype = as.character(veteran$celltype), prior = veteran$prior == 10)
add_case("curve_veteran", vet, "R's veteran data: a factor and a logical covariate",
         list(curve_entry("curve_veteran", vet, c("karno", "celltype", "prior"),
                          list(karno = 60, celltype = "large", prior = TRUE)),
              curve_entry("curve_veteran", vet, c("karno", "celltype", "prior"),
                          list(karno = 80, celltype = "adeno", prior = FALSE), "breslow",
                          tag = "/reference")))

# R's heart data (Stanford transplant, counting process), with cluster(id).
hrt <- data.frame(id = heart$id, start = heart$start, time = heart$stop, event = heart$event,
                  age = heart$age, transplant = as.integer(heart$transplant == "1"))
add_case("curve_heart", hrt, "R's heart data: counting process, cluster-robust variance",
         list(curve_entry("curve_heart", hrt, c("age", "transplant"),
                          list(age = 0, transplant = 1), start = "start"),
              curve_entry("curve_heart", hrt, c("age", "transplant"),
                          list(age = -10, transplant = 0), "breslow", start = "start",
                          cluster = "id", tag = "/cluster")))

# Whole-number weights and heavy ties.
freq <- data.frame(time = c(1, 1, 2, 2, 2, 3, 4, 4, 5, 5, 6, 7, 7, 8, 9, 10, 10, 11, 12, 12),
                   event = c(1, 0, 1, 1, 0, 1, 1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 0),
                   x = c(0.5, 1.2, -0.3, 2.0, 0.1, 1.5, -1.0, 0.7, 0.2, 1.1,
                         -0.4, 0.9, 1.8, -0.2, 0.6, 1.3, 0.0, -0.7, 2.2, 0.4),
                   w = c(2, 1, 3, 1, 1, 1, 4, 2, 1, 1, 2, 3, 1, 2, 1, 2, 1, 1, 1, 5))
add_case("curve_ties", freq, "tied times, whole-number weights",
         list(curve_entry("curve_ties", freq, c("x"), list(x = 1)),
              curve_entry("curve_ties", freq, c("x"), list(x = -0.5), weight = "w",
                          tag = "/weights"),
              curve_entry("curve_ties", freq, c("x"), list(x = -0.5), "breslow", weight = "w",
                          tag = "/weights")))

out <- list(
  dataset = "cox_curve",
  description = "Predicted survival curves after coxph (survival survfit.coxph, basehaz)",
  r_version = R.version.string,
  survival_version = as.character(packageVersion("survival")),
  generated_by = "tests/oracle/cox_curve.R",
  cases = cases)
cat(json_value(out), "\n")
