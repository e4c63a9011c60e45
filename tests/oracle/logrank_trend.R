# Cases for the log-rank test for trend (issue 15): the data and R's answers.
#
#   Rscript tests/oracle/logrank_trend.R > tests/data/oracle/logrank_trend.json
#
# R's survival has no trend test, but survdiff returns what the test is made of: O - E per
# group and its variance matrix V (summed over strata when there are strata). With scores a
# (the groups' numeric values), Klein & Moeschberger (2003) §7.4, eq. 7.4.2 and SAS LIFETEST
# TREND:
#
#   Z = a'(O - E) / sqrt(a' V a),   statistic = Z^2 ~ chi-square(1),   p = pchisq(Z^2, 1, upper)
#
# The Fleming-Harrington G(p, 0) weights come with survdiff(rho = p). The first case is the
# textbook's worked example (Example 7.6: 90 male larynx-cancer patients, stages I-IV scored
# 1-4; KMsurv's larynx data).
#
# Output: the edge_cases.json layout, entries of kind "logrank_trend". R 4.2.2, survival 3.5-3
# and KMsurv 0.1-5 (Debian bookworm's r-cran-survival, r-cran-kmsurv).
suppressMessages(library(survival))
suppressMessages(library(KMsurv))
invisible(Sys.setlocale("LC_COLLATE", "C"))
args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))
source(file.path(here, "json.R"))

entry <- function(case, data, score, rho = 0, strata = NULL) {
  weighting <- sprintf("fh(%s,0)", format(rho))
  rhs <- if (is.null(strata)) score else paste0(score, " + strata(", strata, ")")
  call <- sprintf("survdiff(Surv(time, event) ~ %s, data = %s, rho = %s)", rhs, case, format(rho))
  id <- paste0(case, "/", score, "/", if (is.null(strata)) "" else "strat/", weighting)
  input <- list(time = "time", event = "event", score = score,
                strata = if (is.null(strata)) NA else strata, weighting = weighting)
  sd <- tryCatch(eval(parse(text = call), list2env(setNames(list(data), case))),
                 error = function(e) e)
  if (inherits(sd, "error")) {
    return(list(id = id, kind = "logrank_trend", source = "R", r_call = call,
                input = input, error = conditionMessage(sd)))
  }
  obs <- if (is.matrix(sd$obs)) rowSums(sd$obs) else sd$obs
  exp <- if (is.matrix(sd$exp)) rowSums(sd$exp) else sd$exp
  a <- as.numeric(sub(paste0("^", score, "="), "", names(sd$n)))
  u <- sum(a * (obs - exp))
  v <- drop(t(a) %*% sd$var %*% a)
  z <- if (v > 0) u / sqrt(v) else NA
  list(id = id, kind = "logrank_trend", source = "R", r_call = call, input = input,
       formula = "Z = a'(O - E) / sqrt(a' V a) from survdiff's obs, exp, var",
       result = list(statistic = if (v > 0) z^2 else NA, df = 1, z = z,
                     p = if (v > 0) pchisq(z^2, 1, lower.tail = FALSE) else NA,
                     u = u, var = v))
}

cases <- list()
add_case <- function(name, data, description, entries) {
  cases[[length(cases) + 1]] <<- list(id = name, description = description,
                                      data = as.list(data), entries = entries)
}

# Klein & Moeschberger Example 7.6 (Kardaun 1983): stages I-IV scored 1-4; also scored with
# unequal spacing, the G(1, 0) weights, and stratified by period of diagnosis (before 1975 or
# from 1975, as in the book's exercise).
data(larynx)
lx <- data.frame(time = larynx$time, event = larynx$delta, stage = larynx$stage,
                 spaced = c(0, 1, 2, 5)[larynx$stage],
                 period = ifelse(larynx$diagyr < 75, "1970-74", "1975-78"))
add_case("trend_larynx", lx,
         "Klein & Moeschberger Example 7.6: larynx cancer, stage I-IV scored 1-4 (KMsurv larynx)",
         list(entry("trend_larynx", lx, "stage"),
              entry("trend_larynx", lx, "spaced"),
              entry("trend_larynx", lx, "stage", rho = 1),
              entry("trend_larynx", lx, "stage", rho = 0.5),
              entry("trend_larynx", lx, "stage", strata = "period"),
              entry("trend_larynx", lx, "stage", rho = 1, strata = "period")))

# R's veteran: Karnofsky score as the score (12 distinct values, ties), stratified by arm.
vet <- data.frame(time = as.numeric(veteran$time), event = veteran$status,
                  karno = as.numeric(veteran$karno), trt = as.character(veteran$trt))
add_case("trend_veteran", vet, "R survival's veteran: Karnofsky score as the trend score",
         list(entry("trend_veteran", vet, "karno"),
              entry("trend_veteran", vet, "karno", rho = 1),
              entry("trend_veteran", vet, "karno", strata = "trt")))

# Heavy ties, fractional and negative scores; a score whose group has no events.
set.seed(15)
ties <- data.frame(time = rep(c(1, 2, 3, 5, 8, 13), each = 10), event = rbinom(60, 1, 0.7),
                   dose = rep(c(-1.5, 0, 2.25), 20))
ties$event[ties$dose == 2.25] <- 0
add_case("trend_ties", ties, "6 distinct times, scores -1.5/0/2.25, the top score without events",
         list(entry("trend_ties", ties, "dose"), entry("trend_ties", ties, "dose", rho = 1)))

# Two scores: the trend test is the log-rank test (statistic = survdiff chisq).
two <- data.frame(time = aml$time, event = aml$status, arm = ifelse(aml$x == "Maintained", 1, 2))
add_case("trend_two", two, "R survival's aml: two scores, equal to the log-rank test",
         list(entry("trend_two", two, "arm")))

# One score only, and all censored: no test (NULL).
one <- data.frame(time = c(1, 2, 3, 4, 5), event = c(1, 0, 1, 1, 0), level = rep(3, 5))
add_case("trend_one_score", one, "a single score: no test", list(entry("trend_one_score", one, "level")))
cens <- data.frame(time = c(1, 2, 3, 4, 5, 6), event = rep(0, 6), level = rep(c(1, 2, 3), 2))
add_case("trend_all_censored", cens, "no events: no test",
         list(entry("trend_all_censored", cens, "level")))

out <- list(
  dataset = "logrank_trend",
  description = "Log-rank test for trend: Z = a'(O - E) / sqrt(a'Va) from R's survdiff",
  r_version = R.version.string,
  survival_version = as.character(packageVersion("survival")),
  generated_by = "tests/oracle/logrank_trend.R",
  cases = cases)
cat(json_value(out), "\n")
