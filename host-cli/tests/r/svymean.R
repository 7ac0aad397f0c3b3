# Independent re-implementation of docs/method.md §2-§5 in base R + survey, used by
# host-cli/tests/r_crosscheck.rs to check the standardised trust question scores and SEs.
#
# Usage: Rscript svymean.R INSTRUMENT_CSV RESPONDENTS_CSV OUT_CSV
#
# INSTRUMENT_CSV: one row per answer option, in questionnaire order:
#   question_index,id,kind,section,code,score_units,filter_question,filter_codes
#   (score_units blank = option not scored; filter_codes separated by ';')
# RESPONDENTS_CSV: trust,age,sex,<question ids...>; blank = not answered.
# OUT_CSV: trust,question,n,mean,se for every trust x scored question; mean and se are
#   blank when n < the suppression threshold.
#
# Profile parameters are the npsp-2024 defaults stated in method.md, not read from the CLI.

suppressPackageStartupMessages({
  if (!requireNamespace("survey", quietly = TRUE)) {
    stop("R package 'survey' is not installed: run .ci/install-tools")
  }
  library(survey)
})

WEIGHT_CAP <- 5        # method.md §4
MIN_N <- 30            # method.md §5, suppression threshold
AGE_BANDS <- c(16, 36, 51, 66)  # method.md §3: 16-35, 36-50, 51-65, 66+
UNITS_PER_POINT <- 6   # method.md §2: 10 = 60 units

args <- commandArgs(trailingOnly = TRUE)
if (length(args) != 3) stop("usage: svymean.R INSTRUMENT_CSV RESPONDENTS_CSV OUT_CSV")

opts <- read.csv(args[1], colClasses = "character", na.strings = character(0))
resp <- read.csv(args[2], colClasses = "character", na.strings = character(0),
                 check.names = FALSE, strip.white = TRUE)

# ---- instrument ---------------------------------------------------------------------------
qids <- unique(opts$id)                     # questionnaire order (rows are in that order)
opts$qi <- as.integer(opts$question_index)
stopifnot(identical(unique(opts$qi), seq_along(qids) - 1L))
question <- lapply(qids, function(id) {
  rows <- opts[opts$id == id, ]
  units <- ifelse(rows$score_units == "", NA_real_, as.numeric(rows$score_units))
  fq <- rows$filter_question[1]
  list(
    id = id,
    kind = rows$kind[1],
    codes = as.integer(rows$code),
    units = setNames(units, rows$code),
    filter_q = if (fq == "") NA_character_ else fq,
    filter_codes = if (fq == "") integer(0) else as.integer(strsplit(rows$filter_codes[1], ";")[[1]])
  )
})
names(question) <- qids
scored_ids <- qids[vapply(question, function(q) q$kind == "scored", logical(1))]

# ---- strata (method.md §3) ----------------------------------------------------------------
is_whole <- function(s) grepl("^[0-9]+$", s)
age <- ifelse(is_whole(resp$age), suppressWarnings(as.numeric(resp$age)), NA_real_)
sex <- ifelse(is_whole(resp$sex), suppressWarnings(as.numeric(resp$sex)), NA_real_)
band <- findInterval(age, AGE_BANDS)        # 0 = under the first band, NA = missing
known <- !is.na(band) & band >= 1 & !is.na(sex) & sex %in% c(1, 2)
stratum <- ifelse(known, paste0("b", band, "s", sex), NA_character_)

# ---- answers, cleaning and routing (method.md §2) -----------------------------------------
n_resp <- nrow(resp)
# valid[[id]]: integer option code, NA when blank, invalid, or the column is absent.
valid <- lapply(question, function(q) {
  if (!(q$id %in% names(resp))) return(rep(NA_integer_, n_resp))
  raw <- resp[[q$id]]
  code <- ifelse(is_whole(raw), suppressWarnings(as.integer(raw)), NA_integer_)
  code[!(code %in% q$codes)] <- NA_integer_
  code
})
removed <- list()
for (id in qids) {
  q <- question[[id]]
  r <- rep(FALSE, n_resp)
  if (!is.na(q$filter_q)) {
    f <- q$filter_q
    fa <- valid[[f]]
    # removed if the filter question was removed, or answered with a code outside the filter;
    # an unanswered filter removes nothing.
    r <- removed[[f]] | (!is.na(fa) & !(fa %in% q$filter_codes))
  }
  removed[[id]] <- r
  valid[[id]][r] <- NA_integer_
}

# ---- weights and scores per question (method.md §4, §5) ----------------------------------
trusts <- sort(unique(resp$trust))
out <- list()
for (id in scored_ids) {
  q <- question[[id]]
  code <- valid[[id]]
  units <- unname(q$units[as.character(code)])   # NA for no answer or unscored option
  has <- !is.na(units)
  x <- units / UNITS_PER_POINT
  nat <- table(stratum[has & known])
  P <- nat / sum(nat)
  for (tr in trusts) {
    sel <- has & resp$trust == tr
    n <- sum(sel)
    mean_s <- ""; se_s <- ""
    if (n >= MIN_N) {
      loc <- table(stratum[sel & known])
      p <- loc / sum(loc)
      g <- stratum[sel]
      w <- rep(1, n)                        # unknown stratum: weight 1
      k <- !is.na(g)
      w[k] <- pmin(as.numeric(P[g[k]]) / as.numeric(p[g[k]]), WEIGHT_CAP)
      d <- data.frame(x = x[sel], w = w)
      des <- svydesign(ids = ~1, weights = ~w, data = d)
      est <- svymean(~x, des)
      mean_s <- sprintf("%.17g", unname(coef(est)))
      se_s <- sprintf("%.17g", unname(SE(est)))
    }
    out[[length(out) + 1]] <- data.frame(trust = tr, question = id, n = n,
                                         mean = mean_s, se = se_s)
  }
}
res <- do.call(rbind, out)
write.csv(res, args[3], row.names = FALSE, quote = FALSE)
