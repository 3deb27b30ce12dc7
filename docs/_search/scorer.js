// Search ranking of the Parley site (html_search_scorer): Sphinx's defaults, except
// that a requirement ID (an object of the "req" domain) ranks above every page that
// merely mentions it, so searching "X3DH-010" shows that requirement first.
var Scorer = {
  score: (result) => {
    const [, , anchor, descr, score, , kind] = result;
    if (kind === "object" && (anchor || "").startsWith("#req-")) return score + 100;
    return score;
  },
  objNameMatch: 11,
  objPartialMatch: 6,
  objPrio: { 0: 15, 1: 5, 2: -5 },
  objPrioDefault: 0,
  title: 15,
  partialTitle: 7,
  term: 5,
  partialTerm: 2,
};
