# Cases for the contrasts used when hazards are not proportional (issue 43): rmst_diff and
# km_survival_diff. The data and R's answers.
#
#   Rscript tests/oracle/contrasts.R > tests/data/oracle/contrasts.json
#
# survRM2 (Uno et al., J Clin Oncol 2014) is not packaged for Debian. Its rmst2 is short and is
# restated here from its documented formulas, on R survival's survfit of each group alone:
#
#   RMST_g = ∫_0^tau S_g(t) dt,   var = Σ_k (∫_{t_k}^tau S_g)² d_k / (n_k (n_k - d_k))
#   diff = RMST_1 - RMST_0,  se = sqrt(var_1 + var_0),  CI diff ± z se,  p = 2 Φ(-|diff/se|)
#   ratio = RMST_1 / RMST_0 on the log scale: se = sqrt(var_1/RMST_1² + var_0/RMST_0²)
#   RMTL ratio (tau - RMST_1)/(tau - RMST_0): se = sqrt(var_1/RMTL_1² + var_0/RMTL_0²)
#
# and each group's RMST is checked in the script against summary(survfit, rmean = tau). The
# published example the issue quotes (lung by sex, tau 965: 324.05 (SE 22.30) vs 455.90
# (SE 32.92), difference 131.86 (53.93, 209.78), p 0.00091) is the first case.
#
# tau: survRM2's rule, generalised to k groups. A group whose last observation is censored
# (at x_g) has no estimate past x_g; a group whose last observation is an event has S = 0 from
# there on. tau must be ≤ min(max_g x_g, min over censored-last groups of x_g); for two groups
# this is exactly rmst2's four cases. km_survival_diff's `at` follows the same rule.
#
# Milestone survival: S_g(at) and its Greenwood SE from summary(survfit(...), times = at) on
# each group alone; diff = S_1 - S_0, se = sqrt(se_1² + se_0²), CI diff ± z se, p two-sided
# normal; NNT = 1/diff with the limits 1/upper and 1/lower (Altman, BMJ 1999;317:1309): when the
# CI of the difference spans 0 the NNT's CI is the two pieces (-∞, 1/lower] ∪ [1/upper, ∞).
#
# Groups in R's factor order; every level against the first.
#
# Output: the edge_cases.json layout, entries of kind "rmst_diff" and "km_survival_diff".
# R 4.2.2, survival 3.5-3.
suppressMessages(library(survival))
invisible(Sys.setlocale("LC_COLLATE", "C"))
args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))
source(file.path(here, "json.R"))

levels_of <- function(g) {
  num <- suppressWarnings(as.numeric(as.character(g)))
  if (all(!is.na(num))) as.character(sort(unique(num))) else sort(unique(as.character(g)))
}
label <- function(g) {
  num <- suppressWarnings(as.numeric(as.character(g)))
  if (all(!is.na(num))) as.character(num) else as.character(g)
}

rmst1 <- function(time, status, tau) {
  ft <- survfit(Surv(time, status) ~ 1)
  idx <- ft$time <= tau
  wk.time <- sort(c(ft$time[idx], tau))
  areas <- diff(c(0, wk.time)) * c(1, ft$surv[idx])
  n <- ft$n.risk[idx]
  d <- ft$n.event[idx]
  v <- c(ifelse(n - d == 0, 0, d / (n * (n - d))), 0)
  var <- sum(cumsum(rev(areas[-1]))^2 * rev(v)[-1])
  tab <- summary(ft, rmean = tau)$table
  stopifnot(abs(tab[["rmean"]] - sum(areas)) <= 1e-12 * sum(areas),
            abs(tab[["se(rmean)"]] - sqrt(var)) <= 1e-10 * max(sqrt(var), 1e-300))
  list(rmst = sum(areas), var = var)
}

tau_limit <- function(time, status, g) {
  x <- tapply(time, g, max)
  last_event <- sapply(split(data.frame(time, status), g),
                       function(d) min(d$status[d$time == max(d$time)]) == 1)
  censored <- x[!last_event]
  min(max(x), if (length(censored)) min(censored) else Inf)
}

log_contrast <- function(a1, v1, a0, v0, z) {
  est <- log(a1) - log(a0)
  se <- sqrt(v1 / a1^2 + v0 / a0^2)
  c(exp(est), exp(est - z * se), exp(est + z * se), 2 * pnorm(-abs(est / se)))
}

rmst_entry <- function(case, data, grp, tau, conf_level = NULL) {
  level <- if (is.null(conf_level)) 0.95 else conf_level
  z <- qnorm(1 - (1 - level) / 2)
  g <- label(data[[grp]])
  lv <- levels_of(data[[grp]])
  id <- paste0(case, "/rmst/", grp, "/", format(tau), if (is.null(conf_level)) "" else paste0("/", conf_level))
  input <- list(time = "time", event = "event", grp = grp, tau = tau,
                conf_level = if (is.null(conf_level)) NA else conf_level)
  base <- list(id = id, kind = "rmst_diff", source = "R (survRM2's formulas on survfit)",
               r_call = sprintf("rmst2-style contrasts of survfit(Surv(time, event) ~ 1) per level of %s, tau = %s", grp, format(tau)),
               input = input)
  limit <- tau_limit(data$time, data$event, g)
  if (length(lv) < 2) return(c(base, list(error = "needs at least two groups")))
  if (tau > limit) return(c(base, list(error = sprintf("tau must be <= %s", format(limit)))))
  fits <- lapply(lv, function(l) rmst1(data$time[g == l], data$event[g == l], tau))
  groups <- lapply(seq_along(lv), function(i) {
    r <- fits[[i]]
    se <- sqrt(r$var)
    list(grp = lv[i], rmst = r$rmst, std_err = se, lower = r$rmst - z * se, upper = r$rmst + z * se)
  })
  r0 <- fits[[1]]
  contrasts <- lapply(seq_along(lv)[-1], function(i) {
    r1 <- fits[[i]]
    d <- r1$rmst - r0$rmst
    se <- sqrt(r1$var + r0$var)
    ratio <- log_contrast(r1$rmst, r1$var, r0$rmst, r0$var, z)
    rmtl <- log_contrast(tau - r1$rmst, r1$var, tau - r0$rmst, r0$var, z)
    list(grp = lv[i], diff = d, diff_se = se, diff_lower = d - z * se, diff_upper = d + z * se,
         diff_p = 2 * pnorm(-abs(d / se)),
         ratio = ratio[1], ratio_lower = ratio[2], ratio_upper = ratio[3], ratio_p = ratio[4],
         rmtl_ratio = rmtl[1], rmtl_ratio_lower = rmtl[2], rmtl_ratio_upper = rmtl[3],
         rmtl_ratio_p = rmtl[4])
  })
  c(base, list(result = list(tau = tau, reference = lv[1], groups = groups, contrasts = contrasts)))
}

inverse <- function(x) if (is.na(x) || x == 0) NA else 1 / x

survival_diff_entry <- function(case, data, grp, at, conf_level = NULL) {
  level <- if (is.null(conf_level)) 0.95 else conf_level
  z <- qnorm(1 - (1 - level) / 2)
  g <- label(data[[grp]])
  lv <- levels_of(data[[grp]])
  id <- paste0(case, "/survdiff_at/", grp, "/", format(at), if (is.null(conf_level)) "" else paste0("/", conf_level))
  input <- list(time = "time", event = "event", grp = grp, at = at,
                conf_level = if (is.null(conf_level)) NA else conf_level)
  base <- list(id = id, kind = "km_survival_diff", source = "R (summary(survfit, times = at) per group)",
               r_call = sprintf("summary(survfit(Surv(time, event) ~ 1), times = %s) per level of %s", format(at), grp),
               input = input)
  limit <- tau_limit(data$time, data$event, g)
  if (length(lv) < 2) return(c(base, list(error = "needs at least two groups")))
  if (at > limit) return(c(base, list(error = sprintf("at must be <= %s", format(limit)))))
  at_group <- lapply(lv, function(l) {
    s <- summary(survfit(Surv(time, event) ~ 1, data = data[g == l, ]), times = at, extend = TRUE)
    list(grp = l, surv = s$surv, std_err = s$std.err)
  })
  s0 <- at_group[[1]]
  contrasts <- lapply(seq_along(lv)[-1], function(i) {
    s1 <- at_group[[i]]
    d <- s1$surv - s0$surv
    se <- sqrt(s1$std_err^2 + s0$std_err^2)
    lo <- d - z * se
    hi <- d + z * se
    list(grp = lv[i], diff = d, std_err = se, lower = lo, upper = hi,
         p_value = 2 * pnorm(-abs(d / se)),
         nnt = inverse(d), nnt_lower = inverse(hi), nnt_upper = inverse(lo))
  })
  c(base, list(result = list(at = at, reference = lv[1], groups = at_group, contrasts = contrasts)))
}

cases <- list()
add_case <- function(name, data, description, entries) {
  cases[[length(cases) + 1]] <<- list(id = name, description = description,
                                      data = as.list(data), entries = entries)
}

# R's lung by sex (1 male, 2 female): the published example (tau 965), a shorter tau and one
# with 90% intervals, tau past the women's last (censored) time (the men's last, 1022, is
# censored too: the limit is 965). By ECOG score (0-3; the one row without it left out; score
# 3 is one subject, whose curve is 0 after day 118).
lung2 <- data.frame(time = as.numeric(lung$time), event = lung$status - 1, sex = lung$sex)
add_case("contrast_lung", lung2, "R survival's lung by sex (1 male, 2 female)",
         list(rmst_entry("contrast_lung", lung2, "sex", 965),
              rmst_entry("contrast_lung", lung2, "sex", 365),
              rmst_entry("contrast_lung", lung2, "sex", 500, 0.9),
              rmst_entry("contrast_lung", lung2, "sex", 1000),
              survival_diff_entry("contrast_lung", lung2, "sex", 365),
              survival_diff_entry("contrast_lung", lung2, "sex", 180, 0.9),
              survival_diff_entry("contrast_lung", lung2, "sex", 965),
              survival_diff_entry("contrast_lung", lung2, "sex", 1000)))
ecog <- data.frame(time = as.numeric(lung$time), event = lung$status - 1, ph_ecog = lung$ph.ecog)
ecog <- ecog[!is.na(ecog$ph_ecog), ]
add_case("contrast_lung_ecog", ecog, "R survival's lung by ECOG score (rows with a score)",
         list(rmst_entry("contrast_lung_ecog", ecog, "ph_ecog", 118),
              rmst_entry("contrast_lung_ecog", ecog, "ph_ecog", 450),
              survival_diff_entry("contrast_lung_ecog", ecog, "ph_ecog", 200)))

# R's veteran: trt (1 standard, 2 test; hazards cross) and cell type (four text levels).
vet <- data.frame(time = as.numeric(veteran$time), event = veteran$status,
                  trt = veteran$trt, celltype = as.character(veteran$celltype))
add_case("contrast_veteran", vet, "R survival's veteran: by treatment and by cell type",
         list(rmst_entry("contrast_veteran", vet, "trt", 90),
              rmst_entry("contrast_veteran", vet, "trt", 553),
              rmst_entry("contrast_veteran", vet, "celltype", 200),
              survival_diff_entry("contrast_veteran", vet, "trt", 30),
              survival_diff_entry("contrast_veteran", vet, "trt", 365),
              survival_diff_entry("contrast_veteran", vet, "celltype", 100)))

# R's aml: the nonmaintained arm ends with an event at 45 (its curve is 0 after), the
# maintained arm censored at 161 (the limit).
aml2 <- data.frame(time = as.numeric(aml$time), event = aml$status, x = as.character(aml$x))
add_case("contrast_aml", aml2, "R survival's aml: maintained vs nonmaintained",
         list(rmst_entry("contrast_aml", aml2, "x", 45),
              rmst_entry("contrast_aml", aml2, "x", 48),
              rmst_entry("contrast_aml", aml2, "x", 161),
              rmst_entry("contrast_aml", aml2, "x", 170),
              rmst_entry("contrast_aml", aml2, "x", 23),
              survival_diff_entry("contrast_aml", aml2, "x", 12),
              survival_diff_entry("contrast_aml", aml2, "x", 13),
              survival_diff_entry("contrast_aml", aml2, "x", 50)))

# Seeded samples with ties, a group that ends with an event (its curve reaches 0 before tau),
# numeric labels whose text order is not their numeric order (9 before 10), and 0.99 limits.
set.seed(20261207)
n <- 90
rnd <- data.frame(time = round(rexp(n, 0.1), 1), event = rbinom(n, 1, 0.7),
                  arm = sample(c(9, 10, 11), n, replace = TRUE))
rnd$time[rnd$arm == 9 & rnd$time == max(rnd$time[rnd$arm == 9])] <- 40
rnd$event[rnd$arm == 9 & rnd$time == 40] <- 1
add_case("contrast_random", rnd, "seeded: exponential times rounded to 0.1 (ties), three numeric arms",
         list(rmst_entry("contrast_random", rnd, "arm", 5),
              rmst_entry("contrast_random", rnd, "arm", 15, 0.99),
              rmst_entry("contrast_random", rnd, "arm", min(tau_limit(rnd$time, rnd$event, label(rnd$arm)), 1e9)),
              survival_diff_entry("contrast_random", rnd, "arm", 7.5),
              survival_diff_entry("contrast_random", rnd, "arm", 3, 0.99)))

cat(json_value(list(description = "rmst_diff and km_survival_diff against survRM2's formulas and summary(survfit)", cases = cases)), "\n")
