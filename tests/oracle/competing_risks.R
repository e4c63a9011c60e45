# Cases for competing risks (issue 14): the data and R's answers.
#
#   Rscript tests/oracle/competing_risks.R > tests/data/oracle/competing_risks.json
#
# * cif_curve / cif_at: the Aalen-Johansen estimate, survival's multi-state survfit:
#   fit <- survfit(Surv(time, factor(status)) ~ 1)            (no delayed entry)
#   fit <- survfit(Surv(entry, time, factor(status)) ~ 1, id = id, weights = w)
#   the cause's column of fit$pstate, fit$std.err, fit$lower, fit$upper (conf.type as asked),
#   fit$n.risk[, 1] (at risk in the initial state), fit$n.event for the cause; and
#   summary(fit, times = at, extend = TRUE) for cif_at.
# * gray_test: cmprsk::cuminc(time, status, grp)$Tests[cause, ] (Gray's test, rho = 0).
#
# Output: the edge_cases.json layout, entries of kind "cif_curve", "cif_at", "gray_test".
# R 4.2.2, survival 3.5-3, cmprsk 2.2-11 (Debian bookworm's r-cran-survival, r-cran-cmprsk).
suppressMessages(library(survival))
suppressMessages(library(cmprsk))
invisible(Sys.setlocale("LC_COLLATE", "C"))
args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))
source(file.path(here, "json.R"))

fit_of <- function(data, conf_type, conf_level, entry, weight) {
  # Columns named .w/.entry/.id: survfit evaluates weights = and Surv() in the data first.
  data$.w <- if (is.null(weight)) rep(1, nrow(data)) else data[[weight]]
  if (is.null(entry)) {
    survfit(Surv(time, factor(status)) ~ 1, data = data, weights = .w,
            conf.type = conf_type, conf.int = conf_level)
  } else {
    data$.id <- seq_len(nrow(data))
    data$.entry <- data[[entry]]
    survfit(Surv(.entry, time, factor(status)) ~ 1, data = data, weights = .w,
            id = .id, conf.type = conf_type, conf.int = conf_level)
  }
}

call_text <- function(entry, weight, conf_type, conf_level) {
  y <- if (is.null(entry)) "Surv(time, factor(status))"
       else sprintf("Surv(%s, time, factor(status))", entry)
  extra <- paste0(if (is.null(entry)) "" else ", id = row id",
                  if (is.null(weight)) "" else sprintf(", weights = %s", weight))
  sprintf("survfit(%s ~ 1%s, conf.type = \"%s\", conf.int = %s)", y, extra, conf_type,
          format(conf_level))
}

curve_entry <- function(case, data, cause, conf_type = "log", conf_level = 0.95,
                        entry = NULL, weight = NULL) {
  fit <- fit_of(data, conf_type, conf_level, entry, weight)
  k <- match(as.character(cause), fit$states)
  input <- list(time = "time", status = "status", cause = cause, conf_type = conf_type,
                conf_level = conf_level, entry = if (is.null(entry)) NA else entry,
                weight = if (is.null(weight)) NA else weight)
  id <- sprintf("%s/cif_curve/cause%d/%s/%s%s%s", case, cause, conf_type, format(conf_level),
                if (is.null(entry)) "" else "/entry", if (is.null(weight)) "" else "/weights")
  # (R's arcsin limits come back without their matrix dimensions: column-major vectors.)
  col <- function(m) unname(matrix(m, nrow = length(fit$time))[, k])
  list(id = id, kind = "cif_curve", source = "R", r_call = call_text(entry, weight, conf_type, conf_level),
       input = input,
       result = list(time = I(fit$time), n_risk = I(unname(fit$n.risk[, 1])),
                     n_event = I(col(fit$n.event)), cif = I(col(fit$pstate)),
                     std_err = I(col(fit$std.err)),
                     lower = I(if (conf_type == "none") rep(NA, length(fit$time)) else col(fit$lower)),
                     upper = I(if (conf_type == "none") rep(NA, length(fit$time)) else col(fit$upper))))
}

at_entry <- function(case, data, cause, at, conf_type = "log", conf_level = 0.95,
                     entry = NULL, weight = NULL) {
  fit <- fit_of(data, conf_type, conf_level, entry, weight)
  k <- match(as.character(cause), fit$states)
  s <- summary(fit, times = at, extend = TRUE)
  input <- list(time = "time", status = "status", cause = cause, at = at, conf_type = conf_type,
                conf_level = conf_level, entry = if (is.null(entry)) NA else entry,
                weight = if (is.null(weight)) NA else weight)
  id <- sprintf("%s/cif_at/cause%d/%s/%s/%s%s%s", case, cause, format(at), conf_type,
                format(conf_level), if (is.null(entry)) "" else "/entry",
                if (is.null(weight)) "" else "/weights")
  list(id = id, kind = "cif_at", source = "R",
       r_call = paste0("summary(", call_text(entry, weight, conf_type, conf_level),
                       sprintf(", times = %s, extend = TRUE)", format(at))),
       input = input,
       result = list(time = s$time, cif = unname(s$pstate[1, k]), std_err = unname(s$std.err[1, k]),
                     lower = unname(s$lower[1, k]), upper = unname(s$upper[1, k])))
}

gray_entry <- function(case, data, cause) {
  cr <- cuminc(data$time, data$status, data$grp)
  tests <- cr$Tests
  row <- match(as.character(cause), rownames(tests))
  input <- list(time = "time", status = "status", cause = cause, group = "grp")
  id <- sprintf("%s/gray_test/cause%d", case, cause)
  r_call <- "cmprsk::cuminc(time, status, grp)$Tests"
  if (is.na(row)) {
    return(list(id = id, kind = "gray_test", source = "R cmprsk", r_call = r_call, input = input,
                error = "cause has no events: no row in $Tests"))
  }
  stat <- unname(tests[row, "stat"])
  list(id = id, kind = "gray_test", source = "R cmprsk", r_call = r_call, input = input,
       result = list(statistic = if (stat < 0) NA else stat, df = unname(tests[row, "df"]),
                     p = if (stat < 0) NA else pchisq(stat, tests[row, "df"], lower.tail = FALSE),
                     p_cmprsk = unname(tests[row, "pv"])))
}

cases <- list()
add_case <- function(name, data, description, entries) {
  cases[[length(cases) + 1]] <<- list(id = name, description = description,
                                      data = as.list(data), entries = entries)
}

# R's mgus2: progression (1) vs death without progression (2), as in survival's
# "compete" vignette; groups by sex.
mg <- data.frame(time = ifelse(mgus2$pstat == 1, mgus2$ptime, mgus2$futime),
                 status = ifelse(mgus2$pstat == 1, 1, 2 * mgus2$death),
                 grp = as.character(mgus2$sex))
add_case("cr_mgus2", mg, "R survival's mgus2: progression (1) vs death (2), by sex",
         list(curve_entry("cr_mgus2", mg, 1), curve_entry("cr_mgus2", mg, 2),
              curve_entry("cr_mgus2", mg, 1, "log-log", 0.9),
              curve_entry("cr_mgus2", mg, 2, "plain"),
              at_entry("cr_mgus2", mg, 1, 120), at_entry("cr_mgus2", mg, 2, 120),
              at_entry("cr_mgus2", mg, 1, 0.5), at_entry("cr_mgus2", mg, 1, 1000),
              at_entry("cr_mgus2", mg, 2, 60, "log-log", 0.9),
              gray_entry("cr_mgus2", mg, 1), gray_entry("cr_mgus2", mg, 2)))

# Ties of different causes at one time, a censoring at an event time, three causes, three
# groups; one group (c) without events of cause 3.
ties <- data.frame(time = c(1, 2, 2, 2, 3, 3, 4, 5, 5, 5, 6, 7, 7, 8, 9, 9, 10, 12, 12, 15),
                   status = c(1, 1, 2, 0, 3, 1, 2, 1, 2, 3, 0, 1, 1, 2, 0, 3, 1, 2, 0, 1),
                   grp = c("a", "b", "c", "a", "a", "b", "c", "a", "b", "b",
                           "c", "a", "c", "b", "a", "b", "c", "a", "b", "c"))
add_case("cr_ties", ties, "tied times of different causes, three causes, three groups",
         list(curve_entry("cr_ties", ties, 1), curve_entry("cr_ties", ties, 2),
              curve_entry("cr_ties", ties, 3), curve_entry("cr_ties", ties, 3, "logit"),
              curve_entry("cr_ties", ties, 1, "arcsin", 0.8),
              at_entry("cr_ties", ties, 1, 5), at_entry("cr_ties", ties, 3, 4.5),
              at_entry("cr_ties", ties, 2, 100),
              gray_entry("cr_ties", ties, 1), gray_entry("cr_ties", ties, 2),
              gray_entry("cr_ties", ties, 3)))

# Delayed entry (entries equal to event times too) and case weights that are not integers,
# with zero weights: the statistics crate is checked against these directly; see
# tests/golden_competing.rs.
lt <- data.frame(time = c(1, 2, 2, 3, 4, 5, 5, 6, 7, 8, 8, 9, 10, 11, 12),
                 status = c(1, 2, 1, 0, 1, 2, 0, 1, 1, 0, 2, 1, 0, 2, 1),
                 entry = c(0, 0, 1, 0, 2.5, 0, 1, 0, 5, 2, 4, 0, 8, 6, 3),
                 w = c(1, 0.5, 2, 1, 1.5, 0, 1, 2, 0.25, 1, 3, 1.2, 0.7, 1, 0.9),
                 grp = rep(c("a", "b", "c"), 5))
add_case("cr_entry_weights", lt, "delayed entry (one equal to an event time), weights incl. 0",
         list(curve_entry("cr_entry_weights", lt, 1, entry = "entry"),
              curve_entry("cr_entry_weights", lt, 2, entry = "entry"),
              curve_entry("cr_entry_weights", lt, 1, weight = "w"),
              curve_entry("cr_entry_weights", lt, 2, "log-log", weight = "w"),
              curve_entry("cr_entry_weights", lt, 1, entry = "entry", weight = "w"),
              curve_entry("cr_entry_weights", lt, 2, entry = "entry", weight = "w"),
              curve_entry("cr_entry_weights", lt, 1),
              gray_entry("cr_entry_weights", lt, 1)))

# (All censored and a cause that never occurs have no multi-state fit in R: tests/slt.)

out <- list(
  dataset = "competing_risks",
  description = "Competing risks: Aalen-Johansen (survival survfit) and Gray's test (cmprsk)",
  r_version = R.version.string,
  survival_version = as.character(packageVersion("survival")),
  cmprsk_version = as.character(packageVersion("cmprsk")),
  generated_by = "tests/oracle/competing_risks.R",
  cases = cases)
cat(json_value(out), "\n")
