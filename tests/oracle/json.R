# A minimal JSON writer for the oracle scripts (R's jsonlite is not in Debian's base R):
# named lists are objects, unnamed lists arrays, vectors of length 1 scalars (use I() or
# as.list() to force an array), NA and NaN null, numbers with 17 significant digits.
json_value <- function(x) {
  if (is.null(x)) return("null")
  if (is.list(x)) {
    items <- vapply(x, json_value, "")
    if (!is.null(names(x)) && all(names(x) != "")) {
      keys <- vapply(names(x), function(k) json_value(k), "")
      return(paste0("{", paste0(keys, ": ", items, collapse = ", "), "}"))
    }
    return(paste0("[", paste(items, collapse = ", "), "]"))
  }
  scalar <- function(v) {
    if (is.na(v)) return("null")
    if (is.logical(v)) return(if (v) "true" else "false")
    if (is.numeric(v)) {
      if (is.infinite(v)) return(if (v > 0) "\"Inf\"" else "\"-Inf\"")
      return(formatC(v, digits = 17, format = "g"))
    }
    s <- gsub("\\\\", "\\\\\\\\", as.character(v))
    s <- gsub("\"", "\\\\\"", s)
    paste0("\"", s, "\"")
  }
  parts <- vapply(seq_along(x), function(i) scalar(x[[i]]), "")
  if (length(x) == 1 && !inherits(x, "AsIs")) return(parts)
  paste0("[", paste(parts, collapse = ", "), "]")
}
