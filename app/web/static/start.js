// The start form, enhanced: as you type in a "Find" box, the select under it
// fills with the dogs or walkers whose name starts with what you typed, from
// the JSON API, without reloading the page. Without this script the Find
// buttons do the same with a plain GET of the form. Served by the app itself:
// the page's Content-Security-Policy allows no other script.
(function () {
  'use strict';
  var find = document.getElementById('find');
  var inputs = document.querySelectorAll('input[data-find]');
  if (!find || !window.fetch || !inputs.length) {
    return;
  }
  // walker.Size.Label, as the server renders it (a test keeps them equal).
  var sizeLabels = { xs: 'xsmall', sm: 'small', md: 'medium', lg: 'large', xl: 'xlarge' };
  // An option's text, by data-find: as the server renders it.
  var labels = {
    dog: function (d) { return d.name + ' (' + (sizeLabels[d.size] || d.size) + ')'; },
    walker: function (w) { return w.name + ' (' + w.email + ')'; }
  };
  var limit = 20;
  var searches = [];

  inputs.forEach(function (input) {
    var name = input.getAttribute('data-find');
    var label = labels[name];
    if (!label) {
      return;
    }
    var select = document.getElementById(name);
    var hint = document.getElementById(name + '-more');
    var timer = null;
    var pending = null;
    var shown = input.value.trim();

    function search() {
      clearTimeout(timer);
      var q = input.value.trim();
      if (q === shown) {
        return;
      }
      if (pending) {
        pending.abort();
      }
      pending = new AbortController();
      var url = '/api/' + name + 's?limit=' + limit + '&q=' + encodeURIComponent(q);
      fetch(url, { headers: { Accept: 'application/json' }, credentials: 'same-origin', signal: pending.signal })
        .then(function (resp) {
          if (!resp.ok) {
            throw new Error(url + ': ' + resp.status);
          }
          return resp.json().then(function (items) { return { items: items, link: resp.headers.get('Link') || '' }; });
        })
        .then(function (res) {
          shown = q;
          fill(res.items);
          more(q, res.link);
        })
        .catch(function () {
          // Keep the options shown; the Find button still works.
        });
    }

    function fill(items) {
      var chosen = select.value;
      var first = new Option(items.length ? 'Choose a ' + name : 'No ' + name + "'s name starts with that", '');
      select.replaceChildren(first);
      items.forEach(function (it) {
        select.add(new Option(label(it), String(it.id), false, String(it.id) === chosen));
      });
    }

    // The hint links to the start form with the next matches, as the
    // server renders it.
    function more(q, link) {
      var m = /<([^>]*)>;\s*rel="next"/.exec(link);
      if (!hint) {
        return;
      }
      hint.hidden = !m;
      var a = hint.querySelector('a');
      if (!m) {
        return;
      }
      var after = new URL(m[1], window.location.href).searchParams.get('after');
      var params = new URLSearchParams();
      inputs.forEach(function (other) {
        if (other.value.trim()) {
          params.set(other.name, other.value.trim());
        }
      });
      params.set(name + '_after', after);
      if (!a) {
        hint.textContent = hint.textContent.replace(/\.$/, '') + ', or ';
        a = document.createElement('a');
        a.textContent = 'show the next ones';
        hint.append(a, '.');
      }
      a.href = '/walks/start/?' + params.toString();
    }

    input.addEventListener('input', function () {
      clearTimeout(timer);
      timer = setTimeout(search, 200);
    });
    searches.push(search);
  });

  // Enter or a Find button: search now instead of reloading the page.
  find.addEventListener('submit', function (e) {
    e.preventDefault();
    searches.forEach(function (search) { search(); });
  });
})();
