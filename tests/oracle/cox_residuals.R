# Cases for the Cox window functions (issue 43): cox_residual and cox_predict, one value per
# row, against R's residuals.coxph and predict.coxph on the rows of each partition.
#
#   Rscript tests/oracle/cox_residuals.R > tests/data/oracle/cox_residuals.json
#
# Each entry: the model (response, covariates — strata(s) among them as in R's formula —, ties,
# weights, counting process), an optional
# partition column (R fits each partition alone), and per row id: martingale, deviance,
# score / dfbeta / dfbetas / schoenfeld / scaledsch per coefficient (named as R names them),
# and predict's lp, risk, expected and survival. Rows R drops (na.exclude) are NULL, as are the
# Schoenfeld residuals of rows without an event.
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

# Per-row values of one fit on `data` (rows in data order, NA where R drops the row).
row_values <- function(fit) {
  out <- list(martingale = residuals(fit, type = "martingale"),
              deviance = residuals(fit, type = "deviance"),
              lp = predict(fit, type = "lp"), risk = predict(fit, type = "risk"),
              expected = predict(fit, type = "expected"),
              survival = predict(fit, type = "survival"))
  for (type in c("score", "dfbeta", "dfbetas")) {
    r <- as.matrix(residuals(fit, type = type))
    for (j in seq_len(ncol(r))) out[[paste0(type, ".", names(coef(fit))[j])]] <- r[, j]
  }
  # Schoenfeld residuals: R's rows are the events in the order residuals.coxph sorts them,
  # order(stop, -status) over the rows the fit used (order(stratum, stop, -status) with
  # strata); put back on their data rows.
  used <- which(!is.na(out$martingale))
  y <- fit$y
  status <- y[, ncol(y)]
  strat <- survival:::coxph.getdata(fit, y = TRUE, x = TRUE, stratax = TRUE)$strata
  ord <- if (is.null(strat)) order(y[, ncol(y) - 1], -status) else
    order(as.numeric(strat), y[, ncol(y) - 1], -status)
  events <- used[ord[status[ord] == 1]]
  for (type in c("schoenfeld", "scaledsch")) {
    r <- as.matrix(residuals(fit, type = type))
    for (j in seq_len(ncol(r))) {
      v <- rep(NA_real_, length(out$martingale))
      v[events] <- r[, j]
      out[[paste0(type, ".", names(coef(fit))[j])]] <- v
    }
  }
  out
}

entry <- function(case, data, id, formula, covariates, ties = "efron", weights = NULL,
                  partition = NULL, response = "time, event") {
  fits <- if (is.null(partition)) list(all = seq_len(nrow(data))) else
    split(seq_len(nrow(data)), data[[partition]])
  values <- NULL
  for (rows in fits) {
    d <- data[rows, ]
    # do.call hands coxph the weight vector itself (a name would be looked up among the
    # data's columns first).
    fit_args <- list(formula = as.formula(formula), data = d, ties = ties, na.action = na.exclude)
    if (!is.null(weights)) fit_args$weights <- d[[weights]]
    fit <- do.call(coxph, fit_args)
    v <- row_values(fit)
    if (is.null(values)) {
      values <- lapply(v, function(x) rep(NA_real_, nrow(data)))
      names(values) <- names(v)
    }
    for (k in names(v)) values[[k]][rows] <- v[[k]]
  }
  list(id = paste0(case, "/", id), kind = "cox_rowwise", source = "R",
       r_call = sprintf("coxph(%s, ties = '%s'%s, na.action = na.exclude)%s; residuals(fit, type) and predict(fit, type)",
                        formula, ties, if (is.null(weights)) "" else paste0(", weights = ", weights),
                        if (is.null(partition)) "" else paste0(" on each level of ", partition)),
       input = list(response = response, covariates = I(covariates), ties = ties,
                    weight = if (is.null(weights)) NA else weights,
                    partition = if (is.null(partition)) NA else partition),
       result = lapply(values, I))
}

# R's lung: status 1/2 recoded 0/1; ph.ecog has a missing value (that row gives NULL), and a
# case weight for the weighted fit.
lung2 <- data.frame(id = seq_len(nrow(lung)), time = as.numeric(lung$time),
                    event = lung$status - 1, age = as.numeric(lung$age),
                    sex = as.numeric(lung$sex), ph_ecog = as.numeric(lung$ph.ecog),
                    w = 1 + (seq_len(nrow(lung)) %% 3) / 2)
add_case("rowwise_lung", lung2, "R survival's lung (status as 0/1) with a case weight",
         list(entry("rowwise_lung", lung2, "efron", "Surv(time, event) ~ age + sex + ph_ecog",
                    c("age", "sex", "ph_ecog")),
              entry("rowwise_lung", lung2, "breslow", "Surv(time, event) ~ age + sex",
                    c("age", "sex"), ties = "breslow"),
              entry("rowwise_lung", lung2, "weighted", "Surv(time, event) ~ age + ph_ecog",
                    c("age", "ph_ecog"), weights = "w"),
              entry("rowwise_lung", lung2, "by_sex", "Surv(time, event) ~ age + ph_ecog",
                    c("age", "ph_ecog"), partition = "sex"),
              entry("rowwise_lung", lung2, "strata_sex", "Surv(time, event) ~ age + ph_ecog + strata(sex)",
                    c("age", "ph_ecog", "strata(sex)")),
              entry("rowwise_lung", lung2, "strata_sex_weighted_breslow", "Surv(time, event) ~ age + strata(sex)",
                    c("age", "strata(sex)"), ties = "breslow", weights = "w")))

# R's veteran: cell type as a factor (text levels), Karnofsky score; Breslow.
vet <- data.frame(id = seq_len(nrow(veteran)), time = as.numeric(veteran$time),
                  event = veteran$status, karno = as.numeric(veteran$karno),
                  celltype = as.character(veteran$celltype))
add_case("rowwise_veteran", vet, "R survival's veteran",
         list(entry("rowwise_veteran", vet, "factor_breslow", "Surv(time, event) ~ karno + celltype",
                    c("karno", "celltype"), ties = "breslow"),
              entry("rowwise_veteran", vet, "factor_efron", "Surv(time, event) ~ karno + celltype",
                    c("karno", "celltype")),
              entry("rowwise_veteran", vet, "strata_celltype", "Surv(time, event) ~ karno + strata(celltype)",
                    c("karno", "strata(celltype)"))))

# R's heart: counting process (start, stop], Efron.
hrt <- data.frame(id = seq_len(nrow(heart)), start = as.numeric(heart$start),
                  stop = as.numeric(heart$stop), event = heart$event,
                  age = as.numeric(heart$age), surgery = as.numeric(heart$surgery),
                  transplant = as.numeric(as.character(heart$transplant)))
add_case("rowwise_heart", hrt, "R survival's heart (Stanford transplant), (start, stop] rows",
         list(entry("rowwise_heart", hrt, "counting", "Surv(start, stop, event) ~ age + surgery + transplant",
                    c("age", "surgery", "transplant"), response = "start, stop, event"),
              entry("rowwise_heart", hrt, "counting_strata", "Surv(start, stop, event) ~ age + transplant + strata(surgery)",
                    c("age", "transplant", "strata(surgery)"), response = "start, stop, event")))

cat(json_value(list(description = "cox_residual and cox_predict against residuals.coxph and predict.coxph", cases = cases)), "\n")
