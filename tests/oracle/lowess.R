# R's lowess (stats, clowess): the smoother of survql's residual figures (\plot residuals,
# \plot zph). The inputs and R's smoothed values.
#
#   Rscript tests/oracle/lowess.R > tests/data/oracle/lowess.json
#
# Each case: x, y (in the order given; lowess sorts by x), f, iter, delta, and R's output
# lowess(x, y, f, iter, delta) — x sorted and the fitted y. Cases: martingale residuals of a
# Cox fit against age (lung), seeded data with tied x, outliers (the robustness steps), a
# constant y (the scale is 0: the robustness steps stop), n = 2 and 3, a large delta (most
# points interpolated), f = 0.2 and iter = 0.
# R 4.2.2.
suppressMessages(library(survival))
args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))
source(file.path(here, "json.R"))

cases <- list()
add <- function(id, x, y, f = 2/3, iter = 3L, delta = 0.01 * diff(range(x))) {
  out <- lowess(x, y, f = f, iter = iter, delta = delta)
  cases[[length(cases) + 1]] <<- list(id = id, x = I(as.numeric(x)), y = I(as.numeric(y)),
                                      f = f, iter = iter, delta = delta,
                                      sorted_x = I(out$x), fitted = I(out$y))
}
d <- na.omit(lung[, c("time", "status", "age", "sex")])
fit <- coxph(Surv(time, status) ~ age + sex, data = d)
add("lung_martingale_age", d$age, residuals(fit, type = "martingale"))
set.seed(4301)
x <- round(runif(120, 0, 10), 1)
y <- sin(x) + rnorm(120, 0, 0.3)
y[c(5, 50, 99)] <- y[c(5, 50, 99)] + c(6, -8, 5)
add("ties_outliers", x, y)
add("ties_outliers_f02", x, y, f = 0.2)
add("ties_outliers_iter0", x, y, iter = 0L)
add("large_delta", x, y, delta = 2)
add("constant_y", 1:20, rep(3, 20))
add("two_points", c(2, 1), c(5, 7))
add("three_points", c(1, 2, 4), c(1, 5, 2))
cat(json_value(list(description = "R's lowess(x, y, f, iter, delta)", cases = cases)), "\n")
