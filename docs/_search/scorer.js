// Search ranking of the Parley site (html_search_scorer): Sphinx's defaults, except
// that a requirement ID (an object of the "req" domain) ranks above every page that
// merely mentions it, and the requirement whose ID is the whole query ranks first,
// so searching "SESSION-010" shows SESSION-010 before NOBUNDLE-010.
var Scorer = {
  score: (result) => {
    const [, title, anchor, , score, , kind] = result;
    if (kind !== "object" || !(anchor || "").startsWith("#req-")) return score;
    const query = (new URLSearchParams(window.location.search).get("q") || "").trim();
    const exact = query && (title || "").toLowerCase() === query.toLowerCase();
    return score + (exact ? 200 : 100);
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
