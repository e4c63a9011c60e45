# Cases for case-weighted Kaplan-Meier and Nelson-Aalen estimates (issue 14): the data and
# R's answers, in the layout of the golden files' "km", "rmst" and "cumhaz" entries, with
# `input.weight` (and `input.start` for delayed entry).
#
#   Rscript tests/oracle/weighted_km.R > tests/data/oracle/weighted_km.json
#
# R: fit <- survfit(Surv([entry,] time, event) ~ [grp], weights = w). survfitKM chooses the
# variance: whole-number weights are frequencies (Greenwood on the weighted counts, fit$logse
# TRUE); any non-integer weight makes it robust (infinitesimal jackknife, each row its own
# cluster; fit$std.err is then the SE of S, logse FALSE). The curve's "std_err_log" below is
# the SE of -log S either way (std.err / surv for a robust fit, 0 where std.err is 0), as
# survfit_confint uses it. Groups: the decision is per fit in R; each group here has
# non-integer weights in the robust cases, so per-group fits (as SQL's GROUP BY) agree.
#
# R 4.2.2, survival 3.5-3 (Debian bookworm's r-cran-survival).
suppressMessages(library(survival))
invisible(Sys.setlocale("LC_COLLATE", "C"))
args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))
source(file.path(here, "json.R"))

CONF_TYPES <- c("log", "log-log", "plain")

fit_of <- function(data, group, entry, conf_type = "log", stype = 1) {
  rhs <- if (is.null(group)) "1" else group
  lhs <- if (is.null(entry)) "Surv(time, event)" else sprintf("Surv(%s, time, event)", entry)
  f <- as.formula(paste(lhs, "~", rhs))
  survfit(f, data = data, weights = w, conf.type = conf_type, stype = stype, ctype = 1)
}

r_call <- function(group, entry, extra = "") {
  sprintf("fit <- survfit(Surv(%stime, event) ~ %s, data, weights = w%s)",
          if (is.null(entry)) "" else paste0(entry, ", "),
          if (is.null(group)) "1" else group, extra)
}

se_log <- function(fit) {
  if (fit$logse) fit$std.err else ifelse(fit$std.err == 0, 0, fit$std.err / fit$surv)
}

# The fits of one group (all of them without a group), one per conf type.
group_fits <- function(fits, i) {
  lapply(fits, function(f) if (is.null(f$strata)) f else f[i])
}

group_label <- function(fit, i) {
  if (is.null(fit$strata)) return(NULL)
  sub("^[^=]*=", "", names(fit$strata)[i])
}

km_entry <- function(case, data, group = NULL, entry = NULL, at = c(100, 300, 500)) {
  fits <- lapply(CONF_TYPES, function(ct) fit_of(data, group, entry, ct))
  names(fits) <- CONF_TYPES
  ngroups <- if (is.null(fits$log$strata)) 1 else length(fits$log$strata)
  groups <- lapply(seq_len(ngroups), function(i) {
    gf <- group_fits(fits, i)
    f <- gf$log
    tab <- lapply(gf, function(x) summary(x)$table)
    q <- lapply(gf, function(x) quantile(x, probs = c(0.25, 0.5, 0.75), conf.int = TRUE))
    s <- lapply(gf, function(x) summary(x, times = at, extend = TRUE))
    ci <- function(get) {
      out <- lapply(CONF_TYPES, function(ct) get(ct))
      names(out) <- CONF_TYPES
      out
    }
    list(group = group_label(fits$log, i), strata = NULL,
         n = unname(tab$log["records"]), events = unname(tab$log["events"]),
         median = list(estimate = unname(tab$log["median"]),
                       ci = ci(function(ct) list(lower = unname(tab[[ct]]["0.95LCL"]),
                                                 upper = unname(tab[[ct]]["0.95UCL"])))),
         quantiles = list(probs = I(c(0.25, 0.5, 0.75)), estimate = I(unname(q$log$quantile)),
                          ci = ci(function(ct) list(lower = I(unname(q[[ct]]$lower)),
                                                    upper = I(unname(q[[ct]]$upper))))),
         at_times = list(time = I(s$log$time), n_risk = I(s$log$n.risk),
                         n_event = I(s$log$n.event), n_censor = I(s$log$n.censor),
                         surv = I(s$log$surv), std_err_surv = I(s$log$std.err),
                         cumhaz = I(s$log$cumhaz), std_chaz = I(s$log$std.chaz),
                         ci = ci(function(ct) list(lower = I(s[[ct]]$lower),
                                                   upper = I(s[[ct]]$upper)))),
         curve = list(time = I(f$time), n_risk = I(f$n.risk), n_event = I(f$n.event),
                      n_censor = I(f$n.censor), surv = I(f$surv), std_err_log = I(se_log(f)),
                      cumhaz = I(f$cumhaz), std_chaz = I(f$std.chaz),
                      ci = ci(function(ct) list(lower = I(gf[[ct]]$lower),
                                                upper = I(gf[[ct]]$upper)))))
  })
  list(id = sprintf("%s/km/%s%s", case, if (is.null(group)) "overall" else paste0("by_", group),
                    if (is.null(entry)) "" else "/entry"),
       kind = "km", source = "R", r_call = r_call(group, entry),
       input = list(time = "time", event = "event", start = entry, group = group, filter = NULL,
                    weight = "w", reverse = FALSE),
       result = list(conf_int = 0.95, groups = groups))
}

rmst_entry <- function(case, data, tau, group = NULL, entry = NULL) {
  fit <- fit_of(data, group, entry)
  tab <- summary(fit, rmean = tau)$table
  if (is.null(dim(tab))) tab <- t(as.matrix(tab))
  ngroups <- nrow(tab)
  groups <- lapply(seq_len(ngroups), function(i) {
    list(group = group_label(fit, i), strata = NULL, tau = tau,
         rmean = unname(tab[i, "rmean"]), se_rmean = unname(tab[i, "se(rmean)"]))
  })
  list(id = sprintf("%s/rmst/%s/tau_%s%s", case,
                    if (is.null(group)) "overall" else paste0("by_", group), format(tau),
                    if (is.null(entry)) "" else "/entry"),
       kind = "rmst", source = "R", r_call = paste0(r_call(group, entry), "; summary(fit, rmean = ", tau, ")$table"),
       input = list(time = "time", event = "event", start = entry, group = group,
                    filter = NULL, weight = "w", rmean = tau),
       result = list(groups = groups))
}

cumhaz_entry <- function(case, data, group = NULL, entry = NULL) {
  fits <- fit_of(data, group, entry, stype = 2)
  ngroups <- if (is.null(fits$strata)) 1 else length(fits$strata)
  groups <- lapply(seq_len(ngroups), function(i) {
    f <- if (is.null(fits$strata)) fits else fits[i]
    list(group = group_label(fits, i), strata = NULL,
         curve = list(time = I(f$time), n_risk = I(f$n.risk), n_event = I(f$n.event),
                      n_censor = I(f$n.censor), cumhaz = I(f$cumhaz), std_chaz = I(f$std.chaz)))
  })
  list(id = sprintf("%s/cumhaz/%s%s", case, if (is.null(group)) "overall" else paste0("by_", group),
                    if (is.null(entry)) "" else "/entry"),
       kind = "cumhaz", source = "R", r_call = r_call(group, entry, ", stype = 2, ctype = 1"),
       input = list(time = "time", event = "event", start = entry, group = group,
                    filter = NULL, weight = "w"),
       result = list(stype = 2, ctype = 1, conf_type = "log", groups = groups))
}

cases <- list()
add_case <- function(name, data, description, entries) {
  cases[[length(cases) + 1]] <<- list(id = name, description = description,
                                      data = as.list(data), entries = entries)
}

# Inverse-probability-of-treatment weights: "treatment" = female sex, propensity from a
# logistic model of age and ECOG score (lung rows with ph.ecog known); non-integer.
lung2 <- lung[!is.na(lung$ph.ecog), ]
ps <- fitted(glm(I(sex == 2) ~ age + ph.ecog, family = binomial, data = lung2))
iptw <- data.frame(time = lung2$time, event = as.integer(lung2$status == 2),
                   w = ifelse(lung2$sex == 2, 1 / ps, 1 / (1 - ps)),
                   grp = ifelse(lung2$sex == 2, "female", "male"),
                   entry = pmax(0, lung2$time - 200 - (lung2$age %% 7) * 40))
add_case("km_iptw_lung", iptw,
         "R's lung data with IPTW weights (female vs male on age and ECOG): robust variance",
         list(km_entry("km_iptw_lung", iptw), km_entry("km_iptw_lung", iptw, "grp"),
              km_entry("km_iptw_lung", iptw, entry = "entry", at = c(100, 300, 500)),
              rmst_entry("km_iptw_lung", iptw, 365), rmst_entry("km_iptw_lung", iptw, 365, "grp"),
              cumhaz_entry("km_iptw_lung", iptw), cumhaz_entry("km_iptw_lung", iptw, "grp"),
              cumhaz_entry("km_iptw_lung", iptw, entry = "entry")))

# Whole-number weights (frequencies, with zeros) and heavy ties: Greenwood on weighted counts.
freq <- data.frame(time = c(1, 1, 2, 2, 2, 3, 4, 4, 5, 5, 6, 7, 7, 8, 9, 10, 10, 11, 12, 12),
                   event = c(1, 0, 1, 1, 0, 1, 1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 0),
                   w = c(2, 1, 3, 0, 1, 1, 4, 2, 1, 1, 2, 3, 1, 0, 1, 2, 1, 1, 1, 5),
                   grp = rep(c("a", "b"), 10),
                   entry = c(0, 0, 0, 1, 0, 2, 0, 1, 2, 0, 3, 0, 4, 2, 0, 6, 1, 0, 8, 3))
add_case("km_freq_weights", freq, "whole-number (frequency) weights with zeros and ties",
         list(km_entry("km_freq_weights", freq, at = c(2, 5, 9)),
              km_entry("km_freq_weights", freq, "grp", at = c(2, 5, 9)),
              km_entry("km_freq_weights", freq, entry = "entry", at = c(2, 5, 9)),
              rmst_entry("km_freq_weights", freq, 10),
              cumhaz_entry("km_freq_weights", freq),
              cumhaz_entry("km_freq_weights", freq, entry = "entry")))

# Delayed entry with non-integer weights, an entry equal to an event time, a zero weight, and
# the last subjects at risk all failing (S reaches 0: its robust SE is 0).
small <- data.frame(time = c(2, 3, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12),
                    event = c(1, 1, 0, 1, 0, 1, 1, 0, 1, 1, 1, 1),
                    w = c(0.5, 1.25, 2, 0.75, 1, 0, 1.5, 2.5, 1, 0.4, 1.1, 0.9),
                    entry = c(0, 0, 1, 2, 0, 3, 0, 2, 5, 4, 6, 3),
                    grp = rep(c("a", "b", "c"), 4))
add_case("km_entry_weights", small,
         "delayed entry with non-integer weights; S reaches 0 at the last time",
         list(km_entry("km_entry_weights", small, at = c(3, 7, 20)),
              km_entry("km_entry_weights", small, entry = "entry", at = c(3, 7, 20)),
              rmst_entry("km_entry_weights", small, 11, entry = "entry"),
              cumhaz_entry("km_entry_weights", small, entry = "entry")))

out <- list(
  dataset = "weighted_km",
  description = "Case-weighted Kaplan-Meier and Nelson-Aalen (survival survfit, weights =)",
  r_version = R.version.string,
  survival_version = as.character(packageVersion("survival")),
  generated_by = "tests/oracle/weighted_km.R",
  cases = cases)
cat(json_value(out), "\n")
