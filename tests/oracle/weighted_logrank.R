# Cases for the weighted log-rank family (issue 15), first half: the data and R's answers.
# R's survdiff(rho = p) is the Fleming-Harrington G(p, 0) test; the other weightings (Gehan,
# Tarone-Ware, Peto, G(p, q) with q > 0) are added by weighted_logrank.py from lifelines.
#
#   Rscript tests/oracle/weighted_logrank.R > /tmp/weighted_logrank_r.json
#   python3 tests/oracle/weighted_logrank.py /tmp/weighted_logrank_r.json \
#       > tests/data/oracle/weighted_logrank.json
#
# Output: the edge_cases.json layout (cases with their data and entries), entries of kind
# "logrank_weighted". R 4.2.2, survival 3.5-3 (Debian bookworm's r-cran-survival).
suppressMessages(library(survival))
suppressMessages(library(survminer))
invisible(Sys.setlocale("LC_COLLATE", "C"))
args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))
source(file.path(here, "json.R"))

entry <- function(case, data, p, strata = NULL) {
  weighting <- sprintf("fh(%s,0)", format(p))
  rhs <- if (is.null(strata)) "grp" else paste0("grp + strata(", strata, ")")
  call <- sprintf("survdiff(Surv(time, event) ~ %s, data = %s, rho = %s)", rhs, case, format(p))
  id <- paste0(case, "/", if (is.null(strata)) "" else "strat/", weighting, "/R")
  input <- list(time = "time", event = "event", group = "grp",
                strata = if (is.null(strata)) NA else strata, weighting = weighting)
  sd <- tryCatch(eval(parse(text = call), list2env(setNames(list(data), case))),
                 error = function(e) e)
  if (inherits(sd, "error")) {
    return(list(id = id, kind = "logrank_weighted", source = "R", r_call = call,
                input = input, error = conditionMessage(sd)))
  }
  obs <- if (is.matrix(sd$obs)) rowSums(sd$obs) else sd$obs
  exp <- if (is.matrix(sd$exp)) rowSums(sd$exp) else sd$exp
  df <- sum(exp > 0) - 1
  groups <- lapply(seq_along(sd$n), function(i) {
    list(group = sub("^grp=", "", names(sd$n)[i]), n = unname(sd$n[i]),
         observed = unname(obs[i]), expected = unname(exp[i]))
  })
  list(id = id, kind = "logrank_weighted", source = "R", r_call = call, input = input,
       result = list(chisq = sd$chisq, df = df,
                     p = if (df > 0) pchisq(sd$chisq, df, lower.tail = FALSE) else NA,
                     groups = groups))
}

# survminer::pairwise_survdiff, with each pair's survdiff chisq (its compare.levels).
pairwise_entry <- function(case, data, method, rho) {
  call <- sprintf("pairwise_survdiff(Surv(time, event) ~ grp, data = %s, p.adjust.method = \"%s\", rho = %s)",
                  case, method, format(rho))
  env <- list2env(setNames(list(data), case))
  adjusted <- eval(parse(text = call), env)$p.value
  raw <- eval(parse(text = sub(method, "none", call, fixed = TRUE)), env)$p.value
  lv <- levels(droplevels(as.factor(data$grp)))
  pairs <- list()
  for (i in seq_along(lv)) for (j in seq_along(lv)) if (i < j) {
    sub <- data[data$grp %in% lv[c(i, j)], ]
    sd <- survdiff(Surv(time, event) ~ grp, data = sub, rho = rho)
    pairs[[length(pairs) + 1]] <- list(grp1 = lv[i], grp2 = lv[j], chisq = sd$chisq,
                                       p = raw[lv[j], lv[i]], p_adjusted = adjusted[lv[j], lv[i]])
  }
  list(id = sprintf("%s/pairwise/%s/rho%s", case, method, format(rho)), kind = "logrank_pairwise",
       source = "R survminer", r_call = call,
       input = list(time = "time", event = "event", group = "grp", p_adjust = method, rho = rho),
       result = list(pairs = pairs))
}

cases <- list()
add_case <- function(name, data, description, strata = NULL, ps = c(0, 1, 0.5, 2)) {
  entries <- lapply(ps, function(p) entry(name, data, p))
  if (!is.null(strata)) entries <- c(entries, lapply(ps, function(p) entry(name, data, p, strata)))
  if (length(unique(data$grp)) > 1) {
    for (method in c("holm", "bonferroni", "BH", "none")) {
      for (rho in c(0, 1)) entries[[length(entries) + 1]] <- pairwise_entry(name, data, method, rho)
    }
  }
  cases[[length(cases) + 1]] <<- list(id = name, description = description,
                                      data = as.list(data), entries = entries)
}

# R's aml (Embury et al. 1977): two arms, tied times.
aml_data <- data.frame(time = aml$time, event = aml$status, grp = as.character(aml$x))
add_case("wl_aml", aml_data, "R survival's aml: maintained vs nonmaintained, ties")

# R's veteran: four cell types, stratified by treatment.
vet <- data.frame(time = as.numeric(veteran$time), event = veteran$status,
                  grp = as.character(veteran$celltype), trt = as.character(veteran$trt))
add_case("wl_veteran", vet, "R survival's veteran: cell type (4 groups), strata trt",
         strata = "trt")

# Heavy ties: 60 subjects on 6 distinct times, three groups.
set.seed(15)
ties <- data.frame(time = rep(c(1, 2, 3, 5, 8, 13), each = 10),
                   event = rbinom(60, 1, 0.7), grp = rep(c("a", "b", "c"), 20))
add_case("wl_ties", ties, "60 subjects, 6 distinct times, 3 groups")

# A group without events (still at risk: expected > 0).
noev <- data.frame(time = c(2, 4, 5, 7, 9, 11, 3, 6, 8, 10, 12, 14, 1, 3, 5, 7),
                   event = c(1, 1, 0, 1, 1, 0, 1, 1, 1, 0, 1, 1, 0, 0, 0, 0),
                   grp = rep(c("x", "y", "z"), c(6, 6, 4)))
add_case("wl_no_events", noev, "group z has no events")

# A group observed late: its events come after every other group's last time.
late <- data.frame(time = c(1, 2, 3, 4, 5, 2, 3, 4, 6, 7, 20, 21, 22, 25),
                   event = c(1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 1, 0, 1, 1),
                   grp = rep(c("early", "mid", "late"), c(5, 5, 4)))
add_case("wl_late_group", late, "group late has its events after the others' last time")

# A group gone before the first event (censored early: expected 0, left out of df by R).
gone <- data.frame(time = c(0.5, 0.7, 2, 3, 4, 6, 3, 5, 7, 8),
                   event = c(0, 0, 1, 1, 0, 1, 1, 0, 1, 1),
                   grp = rep(c("gone", "a", "b"), c(2, 4, 4)))
add_case("wl_gone_early", gone, "group gone is censored before the first event")

# One group only (R: "There is only 1 group").
one <- data.frame(time = c(1, 2, 3, 4, 5), event = c(1, 0, 1, 1, 0), grp = rep("only", 5))
add_case("wl_one_group", one, "a single group", ps = c(0, 1))

# All censored (no events: chisq 0, df from expected = 0).
cens <- data.frame(time = c(1, 2, 3, 4, 5, 6), event = rep(0, 6), grp = rep(c("a", "b"), 3))
add_case("wl_all_censored", cens, "no events at all", ps = c(0, 1))

out <- list(
  dataset = "weighted_logrank",
  description = "Weighted log-rank family: R survdiff (G(p,0)) and lifelines (the others)",
  r_version = R.version.string,
  survival_version = as.character(packageVersion("survival")),
  generated_by = "tests/oracle/weighted_logrank.R, tests/oracle/weighted_logrank.py",
  cases = cases)
cat(json_value(out), "\n")
