// Set-up for the ipywidgets manager on the pages that show widget snapshots. _config.yml loads it
// (nb_ipywidgets_js) after RequireJS and before the manager, both served from _static/offline/.
(function () {
  "use strict";
  // The manager loads its icon fonts from next to where RequireJS thinks its modules live
  // (@jupyter-widgets/base, @jupyter-widgets/html-manager/dist/...): point both at the copy.
  var root = document.documentElement.dataset.content_root || "";
  var dist = root + "_static/offline/jupyter-widgets";
  require.config({
    paths: {"@jupyter-widgets": dist, "@jupyter-widgets/html-manager/dist": dist},
  });

  // The manager typesets widget labels with MathJax 2's MathJax.Hub.Queue; the book loads
  // MathJax 3, which has no Hub. Give it one that does the same with MathJax 3.
  function hub() {
    return {
      Queue: function (job) {
        var element = job && job[2];
        if (element && window.MathJax && MathJax.typesetPromise) {
          MathJax.startup.promise.then(function () { return MathJax.typesetPromise([element]); });
        }
      },
    };
  }
  var mathjax = window.MathJax;
  if (mathjax && mathjax.version) {          // MathJax already loaded
    mathjax.Hub = mathjax.Hub || hub();
  } else if (mathjax) {                      // still its configuration: add to its start-up
    var startup = mathjax.startup || {};
    var ready = startup.ready;
    startup.ready = function () {
      if (ready) { ready(); } else { MathJax.startup.defaultReady(); }
      MathJax.Hub = MathJax.Hub || hub();
    };
    mathjax.startup = startup;
  }
})();
