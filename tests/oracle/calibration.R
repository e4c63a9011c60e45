# Cases for calibration(time, event, predicted_risk, t [, groups]) (issue 44): observed against
# predicted risk at t by risk group, the table every calibration plot draws.
#
#   Rscript tests/oracle/calibration.R > tests/data/oracle/calibration.json
#
# R: the groups are cut(p, unique(quantile(p, seq(0, 1, 1 / groups))), include.lowest = TRUE)
# (type 7 quantiles, intervals closed on the right, the first closed on both ends: equal
# predictions share a group; fewer groups when quantiles coincide). Per group: n, the mean
# predicted risk, and the observed risk 1 - S(t) of the group's Kaplan-Meier curve,
# summary(survfit(Surv(time, event) ~ 1), times = t, extend = TRUE), with limits 1 - upper and
# 1 - lower of survfit's default (log) interval.
# R 4.2.2, survival 3.5-3.
suppressMessages(library(survival))
args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))
source(file.path(here, "json.R"))

entry <- function(case, data, t, groups = 10) {
  br <- unique(quantile(data$p, seq(0, 1, 1 / groups), type = 7, names = FALSE))
  g <- as.integer(cut(data$p, br, include.lowest = TRUE))
  rows <- lapply(sort(unique(g)), function(k) {
    d <- data[g == k, ]
    s <- summary(survfit(Surv(time, event) ~ 1, data = d), times = t, extend = TRUE)
    list(group = k, n = nrow(d), mean_predicted = mean(d$p), observed = 1 - s$surv,
         lower = 1 - s$upper, upper = 1 - s$lower)
  })
  list(id = paste0(case, "/calibration/", t, "/", groups), kind = "calibration", source = "R survival 3.5-3 (survfit per quantile group)",
       r_call = sprintf("cut(p, quantile(p, seq(0, 1, 1/%d)), include.lowest = TRUE); summary(survfit(...), times = %s) per group", groups, t),
       input = list(t = t, groups = groups), result = rows)
}
cases <- list()
add_case <- function(name, data, description, entries) {
  cases[[length(cases) + 1]] <<- list(id = name, description = description,
                                      data = as.list(data), entries = entries)
}
# R's lung: the 1-year risk of an exponential model on age and ECOG (ties in the prediction).
d <- na.omit(data.frame(time = as.numeric(lung$time), event = lung$status - 1, age = lung$age, ecog = lung$ph.ecog))
d$p <- 1 - exp(-365 * exp(-7.2 + 0.012 * d$age + 0.45 * d$ecog))
add_case("calibration_lung", d, "R survival's lung: a 1-year risk on age and ECOG",
         list(entry("calibration_lung", d, 365), entry("calibration_lung", d, 365, 5),
              entry("calibration_lung", d, 180, 4)))
set.seed(445)
n <- 1000
r <- data.frame(x = rnorm(n))
r$time <- round(rexp(n, 0.1 * exp(0.8 * r$x)), 1)
cens <- round(runif(n, 0, 15), 1)
r$event <- as.numeric(r$time <= cens); r$time <- pmin(r$time, cens)
r$p <- round(1 - exp(-5 * 0.1 * exp(0.7 * r$x)), 2)
add_case("calibration_random", r, "seeded: a 5-year risk rounded to 0.01 (ties across group boundaries)",
         list(entry("calibration_random", r, 5), entry("calibration_random", r, 5, 20)))
cat(json_value(list(description = "calibration by risk group: R quantile / cut / survfit", cases = cases)), "\n")
