# Cases for life_table(time, event, breaks) (issue 44): actuarial life tables as KMsurv's
# lifetab (Klein & Moeschberger) and SAS PROC LIFETEST METHOD=LT.
#
#   Rscript tests/oracle/life_table.R > tests/data/oracle/life_table.json
#
# Intervals [b_i, b_{i+1}) for the breaks b_0 < ... < b_k, and a last open interval [b_k, Inf)
# (SAS's INTERVALS=, KMsurv's tis ending in NA); breaks given as a width w are 0, w, 2w, ... up
# to the largest multiple of w not above the largest time. Per interval: lifetab(tis, ninit,
# nlost, nevent) with nlost the censorings and nevent the events in the interval: entering
# (nsubs), withdrawn (nlost), effective at risk n - w/2 (nrisk), events, the conditional
# probability of the event (events / nrisk), survival at the interval's start (surv) with its
# Greenwood SE (se.surv), hazard and density at the midpoint with their SEs (NA in the open
# last interval).
#
# The SAS documentation's example (males with angina pectoris, Lee 1992: 2,418 subjects,
# yearly intervals 0 to 15; SAS/STAT User's Guide, PROC LIFETEST, "Life-Table Estimates for
# Males with Angina Pectoris") is the first case: its published effective numbers at risk
# (2418, 1942.5) and survival (1, 0.8114, 0.7170) are asserted below.
# R 4.2.2, KMsurv 0.1-5.
suppressMessages({library(KMsurv); library(survival)})
args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))
source(file.path(here, "json.R"))

table_entry <- function(case, data, breaks = NULL, width = NULL) {
  if (!is.null(width)) breaks <- seq(0, floor(max(data$time) / width) * width, by = width)
  k <- length(breaks)
  interval <- findInterval(data$time, breaks)  # 1..k: [b_i, b_{i+1}), k: [b_k, Inf)
  stopifnot(all(interval >= 1))
  nevent <- tabulate(interval[data$event == 1], nbins = k)
  nlost <- tabulate(interval[data$event == 0], nbins = k)
  lt <- lifetab(c(breaks, NA), nrow(data), nlost, nevent)
  rows <- lapply(seq_len(k), function(i) list(
    lower = breaks[i], upper = if (i < k) breaks[i + 1] else NA,
    n_entering = lt$nsubs[i], n_withdrawn = lt$nlost[i], n_at_risk = lt$nrisk[i],
    n_events = lt$nevent[i], cond_prob = lt$nevent[i] / lt$nrisk[i], surv = lt$surv[i],
    std_err = lt$se.surv[i], hazard = lt$hazard[i], hazard_se = lt$se.hazard[i],
    density = lt$pdf[i], density_se = lt$se.pdf[i]))
  list(id = paste0(case, "/life_table/", if (is.null(width)) paste0("breaks", k) else paste0("width", width)),
       kind = "life_table", source = "R KMsurv::lifetab",
       r_call = sprintf("lifetab(c(%s, NA), ninit, nlost, nevent)", paste(breaks, collapse = ", ")),
       input = list(breaks = if (is.null(width)) I(as.list(breaks)) else NA, width = if (is.null(width)) NA else width),
       result = rows)
}

cases <- list()
add_case <- function(name, data, description, entries) {
  cases[[length(cases) + 1]] <<- list(id = name, description = description,
                                      data = as.list(data), entries = entries)
}

# SAS's angina data: deaths and withdrawals per year, one row per subject at mid-year.
fail <- c(456, 226, 152, 171, 135, 125, 83, 74, 51, 42, 43, 34, 18, 9, 6, 0)
withdraw <- c(0, 39, 22, 23, 24, 107, 133, 102, 68, 64, 45, 53, 33, 27, 23, 30)
years <- seq(0.5, 15.5, by = 1)
angina <- data.frame(time = c(rep(years, fail), rep(years, withdraw)),
                     event = c(rep(1, sum(fail)), rep(0, sum(withdraw))))
stopifnot(nrow(angina) == 2418)
e <- table_entry("life_angina", angina, breaks = 0:15)
stopifnot(e$result[[1]]$n_at_risk == 2418, e$result[[2]]$n_at_risk == 1942.5,
          e$result[[1]]$surv == 1, round(e$result[[2]]$surv, 4) == 0.8114,
          round(e$result[[3]]$surv, 4) == 0.7170)
add_case("life_angina", angina, "SAS LIFETEST documentation: males with angina pectoris (Lee 1992), years",
         list(e, table_entry("life_angina", angina, width = 2)))

# R's lung (days), 6-month intervals and uneven breaks; seeded data with times on the breaks.
lung2 <- data.frame(time = as.numeric(lung$time), event = lung$status - 1)
add_case("life_lung", lung2, "R survival's lung (days)",
         list(table_entry("life_lung", lung2, width = 182.5),
              table_entry("life_lung", lung2, breaks = c(0, 30, 90, 180, 365, 730))))
set.seed(441)
r <- data.frame(time = round(rexp(150, 0.2)), event = rbinom(150, 1, 0.7))
add_case("life_random", r, "seeded: whole-number times (many on the breaks)",
         list(table_entry("life_random", r, breaks = c(0, 2, 4, 6, 10)),
              table_entry("life_random", r, width = 1)))
cat(json_value(list(description = "life tables: KMsurv::lifetab", cases = cases)), "\n")
