# Cases for concordance_index(time, event, score) with Harrell's C (issue 44): R's
# concordance(Surv(time, event) ~ score, reverse = TRUE), its counts and its standard error
# (sqrt(var), the infinitesimal jackknife). Uno's C, td_auc and brier_score are checked
# against scikit-survival (tests/oracle/validation.py).
#
#   Rscript tests/oracle/concordance.R > tests/data/oracle/concordance.json
#
# reverse = TRUE: a higher score is a higher risk (an earlier event), as a Cox model's linear
# predictor. Limits: c -/+ qnorm(0.975) se. Counts: concordant, discordant, tied.x (tied
# scores) = tied_risk, comparable = concordant + discordant + tied.x.
# R 4.2.2, survival 3.5-3.
suppressMessages(library(survival))
args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))
source(file.path(here, "json.R"))

entry <- function(case, data, score) {
  fit <- concordance(Surv(time, event) ~ s, data = data.frame(time = data$time, event = data$event, s = data[[score]]), reverse = TRUE)
  c <- unname(fit$concordance); se <- sqrt(unname(fit$var)); z <- qnorm(0.975)
  cnt <- fit$count
  list(id = paste0(case, "/harrell/", score), kind = "concordance_harrell", source = "R survival 3.5-3",
       r_call = sprintf("concordance(Surv(time, event) ~ %s, reverse = TRUE)", score),
       input = list(score = score),
       result = list(c_index = c, std_err = se, lower = c - z * se, upper = c + z * se,
                     comparable = unname(cnt["concordant"] + cnt["discordant"] + cnt["tied.x"]),
                     concordant = unname(cnt["concordant"]), discordant = unname(cnt["discordant"]),
                     tied_risk = unname(cnt["tied.x"])))
}
cases <- list()
add_case <- function(name, data, description, entries) {
  cases[[length(cases) + 1]] <<- list(id = name, description = description,
                                      data = as.list(data), entries = entries)
}
d <- na.omit(data.frame(time = as.numeric(lung$time), event = lung$status - 1, age = as.numeric(lung$age),
                        ecog = as.numeric(lung$ph.ecog)))
d$lp <- 0.011 * d$age + 0.45 * d$ecog
add_case("concordance_lung", d, "R survival's lung: age, ECOG score (many tied scores) and a linear predictor",
         list(entry("concordance_lung", d, "age"), entry("concordance_lung", d, "ecog"),
              entry("concordance_lung", d, "lp")))
v <- data.frame(time = as.numeric(veteran$time), event = veteran$status, karno = -as.numeric(veteran$karno))
add_case("concordance_veteran", v, "R survival's veteran: minus the Karnofsky score",
         list(entry("concordance_veteran", v, "karno")))
set.seed(44)
n <- 300
r <- data.frame(x = rnorm(n))
r$time <- round(rexp(n, 0.1 * exp(0.7 * r$x)), 1)
cens <- round(runif(n, 0, 20), 1)
r$event <- as.numeric(r$time <= cens); r$time <- pmin(r$time, cens)
r$xr <- round(r$x, 1)
add_case("concordance_random", r, "seeded: exponential times rounded to 0.1 (ties), a score and the score rounded (ties)",
         list(entry("concordance_random", r, "x"), entry("concordance_random", r, "xr")))
cat(json_value(list(description = "Harrell's C: R concordance(reverse = TRUE)", cases = cases)), "\n")
