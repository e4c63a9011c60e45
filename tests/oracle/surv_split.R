# Cases for surv_split (issue 43): R's survSplit pieces, and Cox fits on split data equal to
# R's tt() and to survSplit + coxph.
#
#   Rscript tests/oracle/surv_split.R > tests/data/oracle/surv_split.json
#
# Kinds:
#   surv_split_rows  survSplit(Surv([entry,] time, event) ~ ., cut = cuts, episode = "interval")
#                    row by row (tstart, tstop, event, interval).
#   cox_split        coxph on the split data; the SQL side splits with surv_split and fits
#                    cox_ph(surv(tstart, tstop, event), <covariates>) with the covariates given as
#                    SQL over the pieces (tstart, tstop, period: the piece's interval) and the
#                    subject's columns. cuts "event_times" means every distinct event time (tt()).
#
# R's timedep vignette: coxph(Surv(time, status) ~ trt + prior + karno + tt(karno),
# tt = function(x, t, ...) x * log(t + 20)) is the fit on the data split at every event time
# with karno * log(tstop + 20) as a covariate.
# R 4.2.2, survival 3.5-3.
suppressMessages(library(survival))
invisible(Sys.setlocale("LC_COLLATE", "C"))
args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))
source(file.path(here, "json.R"))

cases <- list()
add_case <- function(name, data, description, entries) {
  cases[[length(cases) + 1]] <<- list(id = name, description = description,
                                      data = as.list(data), entries = entries)
}

# Pieces: delayed entry (some entries on a cut), NULL entries (from 0), a time on a cut, a
# time before the first cut, unsorted and repeated cuts.
small <- data.frame(entry = c(NA, NA, 90, 95, NA, 30, NA),
                    time = c(100, 200, 180, 400, 45, 90.5, 180),
                    event = c(1, 0, 1, 1, 0, 1, 1))
split_rows <- function(cuts) {
  d <- small
  d$id <- seq_len(nrow(d))
  d$start <- ifelse(is.na(d$entry), 0, d$entry)
  s <- survSplit(Surv(start, time, event) ~ id, data = d, cut = cuts, episode = "interval")
  # Ordered by the subject's (time, entry; no entry first), then tstart: the order the SQL
  # side sorts its pieces in.
  s$subject_time <- d$time[s$id]
  s$subject_entry <- ifelse(is.na(d$entry[s$id]), -Inf, d$entry[s$id])
  s <- s[order(s$subject_time, s$subject_entry, s$start), ]
  list(id = paste0("split_small/", paste(cuts, collapse = "_")), kind = "surv_split_rows",
       source = "R", r_call = sprintf("survSplit(Surv(start, time, event) ~ id, cut = c(%s), episode = \"interval\")",
                                      paste(cuts, collapse = ", ")),
       input = list(cuts = I(cuts)),
       result = list(id = I(s$id), tstart = I(s$start), tstop = I(s$time),
                     event = I(s$event), interval = I(s$interval)))
}
add_case("split_small", small, "delayed entry, NULL entries, times and entries on cuts",
         list(split_rows(c(90, 180)), split_rows(c(180, 90, 90, 300)), split_rows(c(1000))))

vet <- data.frame(time = as.numeric(veteran$time), status = veteran$status,
                  trt = veteran$trt, prior = veteran$prior, karno = veteran$karno)
cox_entry <- function(id, fit, covariates, cuts, r_call) {
  list(id = id, kind = "cox_split", source = "R", r_call = r_call,
       input = list(time = "time", event = "status", cuts = cuts, covariates = I(covariates)),
       result = list(coef = I(unname(coef(fit))), se = I(unname(sqrt(diag(vcov(fit))))),
                     loglik = fit$loglik[2], loglik_null = fit$loglik[1]))
}
tt_fit <- coxph(Surv(time, status) ~ trt + prior + karno + tt(karno), data = vet,
                tt = function(x, t, ...) x * log(t + 20))
tt_breslow <- coxph(Surv(time, status) ~ trt + karno + tt(karno), data = vet, ties = "breslow",
                    tt = function(x, t, ...) x * t)
step <- survSplit(Surv(time, status) ~ ., data = vet, cut = c(90, 180), episode = "tgroup")
step_fit <- coxph(Surv(tstart, time, status) ~ trt + prior + karno:strata(tgroup), data = step)
add_case("split_veteran", vet, "R survival's veteran (the timedep vignette's examples)",
         list(cox_entry("split_veteran/tt_log", tt_fit,
                        c("trt", "prior", "karno", "karno * ln(tstop + 20)"), "event_times",
                        "coxph(Surv(time, status) ~ trt + prior + karno + tt(karno), tt = function(x, t, ...) x * log(t + 20))"),
              cox_entry("split_veteran/tt_linear_breslow", tt_breslow,
                        c("trt", "karno", "karno * tstop", "'ties=breslow'"), "event_times",
                        "coxph(Surv(time, status) ~ trt + karno + tt(karno), ties = 'breslow', tt = function(x, t, ...) x * t)"),
              cox_entry("split_veteran/step", step_fit,
                        c("trt", "prior", "karno * CAST(period = 1 AS INT)",
                          "karno * CAST(period = 2 AS INT)", "karno * CAST(period = 3 AS INT)"),
                        I(c(90, 180)),
                        "coxph(Surv(tstart, time, status) ~ trt + prior + karno:strata(tgroup), data = survSplit(..., cut = c(90, 180), episode = 'tgroup'))")))

cat(json_value(list(description = "surv_split against survSplit, and Cox fits on split data against tt() and survSplit + coxph", cases = cases)), "\n")
