# Independent re-implementation of docs/method.md §2-§6 in base R + survey, used by
# host-cli/tests/r_crosscheck.rs to check the standardised trust question scores and SEs, and
# the section scores and their SEs (with the covariance term C_jkl).
#
# Usage: Rscript svymean.R INSTRUMENT_CSV RESPONDENTS_CSV OUT_CSV OUT_SECTIONS_CSV
#
# INSTRUMENT_CSV: one row per answer option, in questionnaire order:
#   question_index,id,kind,section,code,score_units,filter_question,filter_codes
#   (score_units blank = option not scored; filter_codes separated by ';')
# RESPONDENTS_CSV: trust,age,sex,<question ids...>; blank = not answered.
# OUT_CSV: trust,question,n,mean,se for every trust x scored question; mean and se are
#   blank when n < the suppression threshold.
# OUT_SECTIONS_CSV: trust,section,questions,min_n,score,se for every trust x section; score and
#   se are blank when any question of the section has n < the suppression threshold (§6).
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
if (length(args) != 4) {
  stop("usage: svymean.R INSTRUMENT_CSV RESPONDENTS_CSV OUT_CSV OUT_SECTIONS_CSV")
}

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
    section = rows$section[1],
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
# Per question, kept for the sections (§6): x (points, NA = no scored answer) and w (the
# respondent's weight for that question, NA = no scored answer) over all respondents, and per
# trust n, score and V (NA when suppressed).
xs <- list(); ws <- list(); qn <- list(); qscore <- list(); qvar <- list()
for (id in scored_ids) {
  q <- question[[id]]
  code <- valid[[id]]
  units <- unname(q$units[as.character(code)])   # NA for no answer or unscored option
  has <- !is.na(units)
  x <- units / UNITS_PER_POINT
  nat <- table(stratum[has & known])
  P <- nat / sum(nat)
  xs[[id]] <- x
  ws[[id]] <- rep(NA_real_, n_resp)
  qn[[id]] <- setNames(integer(length(trusts)), trusts)
  qscore[[id]] <- setNames(rep(NA_real_, length(trusts)), trusts)
  qvar[[id]] <- setNames(rep(NA_real_, length(trusts)), trusts)
  for (tr in trusts) {
    sel <- has & resp$trust == tr
    n <- sum(sel)
    qn[[id]][tr] <- n
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
      ws[[id]][sel] <- w
      qscore[[id]][tr] <- unname(coef(est))
      qvar[[id]][tr] <- unname(SE(est))^2
      mean_s <- sprintf("%.17g", unname(coef(est)))
      se_s <- sprintf("%.17g", unname(SE(est)))
    }
    out[[length(out) + 1]] <- data.frame(trust = tr, question = id, n = n,
                                         mean = mean_s, se = se_s)
  }
}
res <- do.call(rbind, out)
write.csv(res, args[3], row.names = FALSE, quote = FALSE)

# ---- section scores and SEs (method.md §6) ------------------------------------------------
# C_jkl = m/(m-1) sum_{i in j scored on k and l} w_ik w_il (x_ik - s_jk)(x_il - s_jl) / (W_jk W_jl),
# computed respondent by respondent; 0 when m < 2.
covariance <- function(k, l, tr) {
  in_j <- resp$trust == tr
  both <- in_j & !is.na(xs[[k]]) & !is.na(xs[[l]])
  m <- sum(both)
  if (m < 2) return(0)
  Wk <- sum(ws[[k]][in_j & !is.na(xs[[k]])])
  Wl <- sum(ws[[l]][in_j & !is.na(xs[[l]])])
  dk <- ws[[k]][both] * (xs[[k]][both] - qscore[[k]][tr])
  dl <- ws[[l]][both] * (xs[[l]][both] - qscore[[l]][tr])
  m / (m - 1) * sum(dk * dl) / (Wk * Wl)
}
section_of <- vapply(scored_ids, function(id) question[[id]]$section, character(1))
stopifnot(all(section_of != ""))
sections <- unique(section_of)
sec_out <- list()
for (sec in sections) {
  ids <- scored_ids[section_of == sec]     # questionnaire order
  for (tr in trusts) {
    ns <- vapply(ids, function(id) qn[[id]][[tr]], integer(1))
    score_s <- ""; se_s <- ""
    if (all(ns >= MIN_N)) {
      scores <- vapply(ids, function(id) qscore[[id]][[tr]], numeric(1))
      v <- sum(vapply(ids, function(id) qvar[[id]][[tr]], numeric(1)))
      if (length(ids) >= 2) {
        for (a in 1:(length(ids) - 1)) {
          for (b in (a + 1):length(ids)) v <- v + 2 * covariance(ids[a], ids[b], tr)
        }
      }
      v <- v / length(ids)^2
      score_s <- sprintf("%.17g", mean(scores))
      se_s <- sprintf("%.17g", sqrt(v))
    }
    sec_out[[length(sec_out) + 1]] <- data.frame(
      trust = tr, section = sec, questions = paste(ids, collapse = ";"), min_n = min(ns),
      score = score_s, se = se_s)
  }
}
write.csv(do.call(rbind, sec_out), args[4], row.names = FALSE, quote = FALSE)
