// The chaingrad playground's page: the view and the controls. The network lives in
// Python (one per tab); this script asks for the newest picture whenever it has drawn the
// last one (long polling), and sends the controls as small JSON requests.
function chaingradPlayground(transport) {
  'use strict';

  var RADIUS = 6;  // the square [-6, 6]² of the data and the surface
  var FEATURES = ['x1', 'x2', 'x1²', 'x2²', 'x1·x2', 'sin x1', 'sin x2'];
  var DATASETS = {
    classification: ['circle', 'xor', 'gauss', 'spiral', 'moons'],
    regression: ['plane', 'gaussians']
  };
  var NODE = 40;  // pixels of a neuron's heat map on the page

  var session = null;
  var options = null;
  var state = null;  // the newest snapshot from the server
  var curve = [];    // [epoch, training loss, test loss] for the current run
  var run = -1;
  var structure = '';  // features and layers the network picture was built for
  var graphBusy = false, graphShownFor = -1, graphAskedAt = 0;
  var stepping = null;  // the backward steps while "Step backward" is on
  var stepAt = 0;
  var draws = 0;
  var GRAPH_HINT = '';  // the graph panel's first words, shown again when it is cleared
  var hovered = null;  // the neuron under the mouse: its map is shown large on the output
  var neuronMaps = {};  // key -> the newest map of each feature and neuron

  function $(id) { return document.getElementById(id); }

  // ------------------------------------------------------------------ talking to Python

  // Every request goes through the transport: HTTP to the local server (the page) or the
  // widget's messages to the notebook's kernel (widget.py); both reach the same handlers.
  function request(method, path, body, raw) {
    return transport.request(method, path, body, raw, session);
  }

  function post(path, body) {
    return request('POST', path, body).then(function (r) { return r.json(); })
      .then(function (answer) { say(''); return answer; })
      .catch(function (error) { say(explain(error)); });
  }

  // A sentence for the page, as an error (red), a warning or good news (neither red).
  function say(text, kind) {
    var message = $('message');
    message.textContent = text;
    message.className = text ? (kind || 'error') : '';
  }

  // fetch's own words for a server that is gone ("Failed to fetch") mean nothing to a student
  function explain(error) {
    return error instanceof TypeError ? transport.gone : error.message;
  }

  function control(action) { return post('/api/control', {action: action}); }

  function setup(changes) { return post('/api/setup', changes); }

  var lost = false;  // the server is unreachable: keep asking, slowly
  function poll() {
    var since = state ? state.version : -1;
    var path = '/api/state?since=' + since + '&run=' + run + '&curve_from=' + curve.length;
    request('GET', path).then(function (r) { return r.json(); }).then(function (next) {
      if (lost) { lost = false; say(''); }
      if (next.version !== since) { show(next); }
      nextPoll();
    }).catch(function (error) {
      lost = true;
      say(explain(error));
      window.setTimeout(poll, 2000);
    });
  }

  // Drawing waits for the next frame; a hidden tab (no frames) still asks now and then,
  // so the server knows it is alive (it pauses and frees tabs it no longer hears from).
  function nextPoll() {
    if (document.hidden) { window.setTimeout(poll, 500); } else { window.requestAnimationFrame(poll); }
  }

  // ------------------------------------------------------------------ drawing

  function decode(text) {
    var bytes = atob(text);
    var values = new Float32Array(bytes.length);
    for (var i = 0; i < bytes.length; i++) {
      var b = bytes.charCodeAt(i);
      values[i] = (b > 127 ? b - 256 : b) / 127;
    }
    return values;
  }

  // -1 orange, 0 light grey, +1 blue, as in TensorFlow Playground
  var ORANGE = [245, 147, 34], MIDDLE = [232, 234, 235], BLUE = [8, 119, 189];
  function colour(v) {
    var end = v < 0 ? ORANGE : BLUE, t = Math.min(1, Math.abs(v));
    return [0, 1, 2].map(function (k) { return Math.round(MIDDLE[k] + (end[k] - MIDDLE[k]) * t); });
  }

  function paintMap(canvas, values, size, discretize, faded) {
    var small = document.createElement('canvas');
    small.width = small.height = size;
    var context = small.getContext('2d');
    var image = context.createImageData(size, size);
    for (var i = 0; i < values.length; i++) {
      var v = discretize ? (values[i] >= 0 ? 1 : -1) : values[i];
      var c = colour(v);
      image.data[4 * i] = c[0]; image.data[4 * i + 1] = c[1]; image.data[4 * i + 2] = c[2];
      image.data[4 * i + 3] = faded ? 170 : 255;
    }
    context.putImageData(image, 0, 0);
    var target = canvas.getContext('2d');
    target.imageSmoothingEnabled = !discretize;
    target.clearRect(0, 0, canvas.width, canvas.height);
    target.drawImage(small, 0, 0, canvas.width, canvas.height);
  }

  function toPixel(x, canvas) { return (x + RADIUS) / (2 * RADIUS) * canvas.width; }
  function toPixelY(y, canvas) { return (RADIUS - y) / (2 * RADIUS) * canvas.height; }

  function drawSurface() {
    var canvas = $('surface');
    var values = decode(state.surface), size = state.surface_size;
    var large = hovered && hovered !== 'output' && neuronMaps[hovered];
    if (large) { values = decode(neuronMaps[hovered]); size = state.map_size; }
    $('surface-caption').textContent = large ? 'Showing the map of ' +
      hovered.replace(/^feature:/, 'the feature ').replace(/^L(\d+)\.N(\d+)$/,
        'layer $1, neuron $2') + ' (move the mouse away for the output).' : '';
    // lighter than the points, so a blue point on blue ground still shows
    paintMap(canvas, values, size, $('discretize').checked, true);
    var context = canvas.getContext('2d');
    var regression = state.setup.problem === 'regression';
    function dots(points, edge) {
      points.forEach(function (p) {
        var c = regression ? colour(p[2]) : (p[2] > 0 ? BLUE : ORANGE);
        context.beginPath();
        context.arc(toPixel(p[0], canvas), toPixelY(p[1], canvas), 3.2, 0, 2 * Math.PI);
        context.fillStyle = 'rgb(' + c.join(',') + ')';
        context.fill();
        context.lineWidth = 1;
        context.strokeStyle = edge;
        context.stroke();
      });
    }
    dots(state.train, 'white');
    if ($('show_test').checked) { dots(state.test, 'black'); }
    if (state.selected) {
      var p = (state.selected[0] === 'train' ? state.train : state.test)[state.selected[1]];
      if (p) {  // black inside white: seen on blue and orange, whatever colours one sees
        [['white', 5], ['black', 2.5]].forEach(function (ring) {
          context.beginPath();
          context.arc(toPixel(p[0], canvas), toPixelY(p[1], canvas), 7.5, 0, 2 * Math.PI);
          context.lineWidth = ring[1];
          context.strokeStyle = ring[0];
          context.stroke();
        });
      }
    }
    // axis ticks every unit along the bottom (x1) and the left (x2), numbers every 3
    context.fillStyle = '#374151';
    context.strokeStyle = '#374151';
    context.lineWidth = 1;
    context.font = '10px sans-serif';
    for (var t = -RADIUS; t <= RADIUS; t++) {
      var x = toPixel(t, canvas), y = toPixelY(t, canvas), long = t % 3 === 0 ? 5 : 3;
      context.beginPath();
      context.moveTo(x, canvas.height); context.lineTo(x, canvas.height - long);
      context.moveTo(0, y); context.lineTo(long, y);
      context.stroke();
      if (t % 3 === 0 && t > -RADIUS && t < RADIUS) {
        context.fillText(String(t), x - (t < 0 ? 5 : 3), canvas.height - 7);
        if (t !== 0) { context.fillText(String(t), 7, y + 3); }
      }
    }
    context.fillText('-6', 2, canvas.height - 7);
    context.fillText('6', canvas.width - 9, canvas.height - 7);
    context.fillText('6', 7, 10);
  }

  function drawCurve() {
    var canvas = $('curve'), context = canvas.getContext('2d');
    context.clearRect(0, 0, canvas.width, canvas.height);
    curve = curve.filter(function (c) { return c[1] !== null && c[2] !== null; });
    if (curve.length < 2) { return; }
    var last = curve[curve.length - 1][0] || 1, top = 0;
    curve.forEach(function (c) { top = Math.max(top, c[1], c[2]); });
    top = top || 1;
    [[1, '#6b7280'], [2, '#111827']].forEach(function (line) {
      context.beginPath();
      curve.forEach(function (c, i) {
        var x = c[0] / last * (canvas.width - 2) + 1;
        var y = canvas.height - 2 - Math.min(c[line[0]], top) / top * (canvas.height - 4);
        if (i === 0) { context.moveTo(x, y); } else { context.lineTo(x, y); }
      });
      context.strokeStyle = line[1];
      context.lineWidth = 1.5;
      context.stroke();
    });
  }

  function setHidden(hidden) { return setup({hidden: hidden}); }

  // The network: a column of features (checkboxes), one per hidden layer, the output.
  function buildNetwork() {
    var columns = $('columns');
    columns.textContent = '';
    var s = state.setup;
    var featureColumn = column('Features');
    FEATURES.forEach(function (name) {
      var row = document.createElement('label');
      row.className = 'feature' + (s.features.indexOf(name) >= 0 ? ' on' : '');
      var box = document.createElement('input');
      box.type = 'checkbox';
      box.checked = s.features.indexOf(name) >= 0;
      box.setAttribute('aria-label', 'feature ' + name);
      box.addEventListener('change', function () {
        var chosen = FEATURES.filter(function (f) {
          return f === name ? box.checked : s.features.indexOf(f) >= 0;
        });
        if (!chosen.length) { box.checked = true; say('keep at least one feature'); return; }
        setup({features: chosen});
      });
      row.appendChild(box);
      var text = document.createElement('span');
      text.textContent = name;
      row.appendChild(text);
      var map = nodeCanvas('feature:' + name, name);
      if (!box.checked) { map.classList.add('off'); }
      row.appendChild(map);
      featureColumn.appendChild(row);
    });
    columns.appendChild(featureColumn);
    s.hidden.forEach(function (width, k) {
      var layer = column('Layer ' + (k + 1));
      var buttons = document.createElement('div');
      buttons.className = 'neuron-buttons';
      buttons.appendChild(button('+', 'Add a neuron to layer ' + (k + 1), function () {
        var hidden = s.hidden.slice(); hidden[k] = Math.min(options.max_neurons, width + 1);
        setHidden(hidden);
      }));
      buttons.appendChild(button('−', 'Remove a neuron from layer ' + (k + 1), function () {
        var hidden = s.hidden.slice(); hidden[k] = Math.max(1, width - 1);
        setHidden(hidden);
      }));
      layer.insertBefore(buttons, layer.firstChild.nextSibling);
      var count = document.createElement('div');
      count.className = 'count';
      count.textContent = width + (width === 1 ? ' neuron' : ' neurons');
      layer.appendChild(count);
      for (var j = 0; j < width; j++) {
        layer.appendChild(neuron('L' + (k + 1) + '.N' + j, 'layer ' + (k + 1) + ', neuron ' + j,
                                 k, j));
      }
      columns.appendChild(layer);
    });
    var out = column('Output');
    out.appendChild(neuron('output', 'the output ŷ', s.hidden.length, 0));
    columns.appendChild(out);
    $('layer-count').textContent = s.hidden.length +
      (s.hidden.length === 1 ? ' hidden layer' : ' hidden layers');
    // too wide for the panel: smaller neurons first, a scroll bar only if still too wide
    columns.classList.remove('compact');
    if (columns.scrollWidth > $('network').clientWidth) { columns.classList.add('compact'); }
    buildLinks();
  }

  function column(title) {
    var div = document.createElement('div');
    div.className = 'column';
    var h = document.createElement('h3');
    h.textContent = title;
    div.appendChild(h);
    return div;
  }

  function button(text, label, onclick) {
    var b = document.createElement('button');
    b.type = 'button';
    b.textContent = text;
    b.setAttribute('aria-label', label);
    b.addEventListener('click', onclick);
    return b;
  }

  function nodeCanvas(key, label) {
    var canvas = document.createElement('canvas');
    canvas.width = canvas.height = NODE;
    canvas.className = 'node';
    canvas.dataset.key = key;
    canvas.setAttribute('role', 'img');
    canvas.setAttribute('aria-label', 'heat map of ' + label);
    canvas.title = label;
    canvas.addEventListener('mouseenter', function () {
      hovered = key; if (state) { drawSurface(); }
    });
    canvas.addEventListener('mouseleave', function () {
      hovered = null; if (state) { drawSurface(); }
    });
    return canvas;
  }

  // A neuron: its map, with a small square for its bias (click it to change the bias).
  function neuron(key, label, k, j) {
    var box = document.createElement('span');
    box.className = 'neuron';
    box.appendChild(nodeCanvas(key, label));
    var bias = document.createElement('button');
    bias.type = 'button';
    bias.className = 'bias';
    bias.dataset.layer = k; bias.dataset.to = j;
    bias.setAttribute('aria-label', 'bias of ' + label);
    bias.addEventListener('click', function () { editWeight(k, null, j); });
    box.appendChild(bias);
    return box;
  }

  // TF Playground's weight editing: a click on a line or a bias square asks for a value.
  function editWeight(k, i, j) {
    var bias = i === null;
    var now = bias ? state.biases[k][j] : state.weights[k][i][j];
    var name = 'L' + (k + 1) + '.N' + j + (bias ? '.b' : '.w' + i);
    var text = window.prompt('New value for ' + name + ' (now ' + now.toFixed(4) + '):',
                             now.toFixed(4));
    if (text === null) { return; }
    var value = Number(text.replace(',', '.'));
    if (text.trim() === '' || !isFinite(value)) { say(name + ' must be a number'); return; }
    post('/api/weight', {layer: k, from: i, to: j, value: value});
  }

  // One SVG line per weight, from a node of one column to a node of the next.
  function buildLinks() {
    var svg = $('links');
    svg.textContent = '';
    var network = $('network'), box = network.getBoundingClientRect();
    svg.setAttribute('width', Math.max(box.width, network.scrollWidth));
    svg.setAttribute('height', Math.max(box.height, network.scrollHeight));
    var columns = Array.prototype.map.call(document.querySelectorAll('#columns .column'),
      function (c) { return Array.prototype.slice.call(c.querySelectorAll('canvas.node:not(.off)')); });
    for (var k = 0; k + 1 < columns.length; k++) {
      columns[k].forEach(function (from, i) {
        columns[k + 1].forEach(function (to, j) {
          var a = from.getBoundingClientRect(), b = to.getBoundingClientRect();
          var dx = network.scrollLeft - box.left, dy = network.scrollTop - box.top;
          var x1 = a.right + dx, y1 = a.top + a.height / 2 + dy;
          var x2 = b.left + dx, y2 = b.top + b.height / 2 + dy;
          var path = document.createElementNS('http://www.w3.org/2000/svg', 'path');
          var middle = (x1 + x2) / 2;
          path.setAttribute('d', 'M' + x1 + ',' + y1 + ' C' + middle + ',' + y1 + ' ' +
                            middle + ',' + y2 + ' ' + x2 + ',' + y2);
          path.setAttribute('fill', 'none');
          path.dataset.layer = k; path.dataset.from = i; path.dataset.to = j;
          path.addEventListener('click', function () {  // (k is the loop's: read the path)
            editWeight(+path.dataset.layer, +path.dataset.from, +path.dataset.to);
          });
          var title = document.createElementNS('http://www.w3.org/2000/svg', 'title');
          path.appendChild(title);
          svg.appendChild(path);
        });
      });
    }
  }

  function drawNetwork() {
    var key = JSON.stringify([state.setup.features, state.setup.hidden]);
    if (key !== structure) { structure = key; buildNetwork(); }
    var maps = {};
    FEATURES.forEach(function (name) { maps['feature:' + name] = state.features[name]; });
    state.neurons.forEach(function (layer, k) {
      layer.forEach(function (values, j) { maps['L' + (k + 1) + '.N' + j] = values; });
    });
    neuronMaps = maps;
    document.querySelectorAll('#columns button.bias').forEach(function (square) {
      var b = state.biases[+square.dataset.layer][+square.dataset.to] || 0;
      square.style.background = 'rgb(' + colour(b).join(',') + ')';
      square.title = 'bias ' + b.toFixed(4) + ': click to change it';
    });
    document.querySelectorAll('#columns canvas.node').forEach(function (canvas) {
      var key = canvas.dataset.key;
      if (key === 'output') {
        paintMap(canvas, decode(state.surface), state.surface_size, false);
        var last = state.biases.length - 1;
        canvas.title = 'the output ŷ: bias ' + state.biases[last][0].toFixed(4);
      } else if (maps[key]) {
        paintMap(canvas, decode(maps[key]), state.map_size, false);
        var where = /^L(\d+)\.N(\d+)$/.exec(key);
        if (where) {
          canvas.title = 'layer ' + where[1] + ', neuron ' + where[2] + ': bias ' +
            state.biases[where[1] - 1][where[2]].toFixed(4);
        }
      }
    });
    document.querySelectorAll('#links path').forEach(function (path) {
      var k = +path.dataset.layer, i = +path.dataset.from, j = +path.dataset.to;
      var w = state.weights[k][i][j] || 0;
      path.setAttribute('stroke', w >= 0 ? '#0877bd' : '#f59322');
      path.setAttribute('stroke-width', Math.min(8, 0.5 + Math.abs(w) * 1.5).toFixed(2));
      path.setAttribute('stroke-opacity', '0.8');
      path.firstChild.textContent = 'weight L' + (k + 1) + '.N' + j + '.w' + i + ' = ' +
        w.toFixed(4) + ': click to change it';
    });
  }

  function number(x) {
    if (x === undefined) { return '–'; }
    return x === null ? '∞' : x.toFixed(3);
  }

  function show(next) {
    if (next.run !== run) { curve = []; run = next.run; }
    if (next.curve_from === 0) { curve = []; }
    curve = curve.concat(next.curve);
    if (state && state.selected && !next.selected) { clearGraph(); }
    state = next;
    $('epoch').textContent = String(state.epoch).padStart(6, '0').replace(/(\d{3})$/, ',$1');
    $('test-loss').textContent = number(state.test_loss);
    $('train-loss').textContent = number(state.train_loss);
    $('play').disabled = state.playing || !!state.trouble;
    $('pause').disabled = !state.playing;
    $('step').disabled = !!state.trouble;
    $('trouble').textContent = state.trouble || '';
    $('trouble').hidden = !state.trouble;
    if (state.step) {  // captured or eager: never switched without the page saying so
      $('step-mode').textContent = state.step.mode;
      $('step-readout').title = state.step.text;
      $('step-sentence').textContent = state.step.text;
    }
    syncControls();
    drawNetwork();
    drawSurface();
    drawCurve();
    refreshGraph();
    rememberSetup();
    draws += 1;
  }

  // ------------------------------------------------------------------ controls

  function fillSelect(id, values, labelOf) {
    var select = $(id);
    values.forEach(function (value) {
      var option = document.createElement('option');
      option.value = JSON.stringify(value);
      option.textContent = labelOf ? labelOf(value) : String(value);
      select.appendChild(option);
    });
    select.addEventListener('change', function () {
      var changes = {};
      changes[id] = JSON.parse(select.value);
      if (id === 'problem') { changes.dataset = DATASETS[changes.problem][0]; }
      setup(changes);
    });
  }

  // As in TensorFlow Playground, each data set is a small picture of its points.
  var THUMB = 48;
  function thumbnail(name) {
    var canvas = document.createElement('canvas');
    canvas.width = canvas.height = THUMB;
    canvas.className = 'thumbnail';
    canvas.setAttribute('aria-hidden', 'true');
    var context = canvas.getContext('2d');
    context.fillStyle = 'white';
    context.fillRect(0, 0, THUMB, THUMB);
    (options.thumbnails[name] || []).forEach(function (point) {
      var c = colour(point[2]);
      context.fillStyle = 'rgb(' + c.join(',') + ')';
      context.fillRect((point[0] + RADIUS) / (2 * RADIUS) * THUMB - 1.5,
                       (RADIUS - point[1]) / (2 * RADIUS) * THUMB - 1.5, 3, 3);
    });
    return canvas;
  }

  function buildDatasets(problem) {
    var box = $('datasets');
    box.textContent = '';
    DATASETS[problem].forEach(function (name) {
      var label = document.createElement('label');
      var radio = document.createElement('input');
      radio.type = 'radio';
      radio.name = 'dataset';
      radio.value = name;
      radio.addEventListener('change', function () { setup({dataset: name}); });
      var caption = document.createElement('span');
      caption.appendChild(radio);
      caption.appendChild(document.createTextNode(' ' + name));
      label.appendChild(thumbnail(name));
      label.appendChild(caption);
      box.appendChild(label);
    });
    box.dataset.problem = problem;
  }

  function syncControls() {
    var s = state.setup;
    ['learning_rate', 'activation', 'regularization', 'regularization_rate', 'problem']
      .forEach(function (id) {
        if (document.activeElement !== $(id)) { $(id).value = JSON.stringify(s[id]); }
      });
    if ($('datasets').dataset.problem !== s.problem) { buildDatasets(s.problem); }
    document.querySelectorAll('#datasets input').forEach(function (radio) {
      radio.checked = radio.value === s.dataset;
    });
    var sliders = {train_share: [s.train_share * 100, Math.round(s.train_share * 100) + '%'],
                   noise: [s.noise * 100, String(Math.round(s.noise * 100))],
                   batch_size: [s.batch_size, String(s.batch_size)]};
    Object.keys(sliders).forEach(function (id) {
      if (document.activeElement !== $(id)) { $(id).value = sliders[id][0]; }
      $(id + '_text').textContent = sliders[id][1];
    });
    $('add-layer').disabled = s.hidden.length >= options.max_layers;
    $('remove-layer').disabled = s.hidden.length === 0;
  }

  function wireControls() {
    $('play').addEventListener('click', function () { control('play'); });
    $('pause').addEventListener('click', function () { control('pause'); });
    $('step').addEventListener('click', function () { control('step'); });
    $('reset').addEventListener('click', function () { control('reset'); });
    $('regenerate').addEventListener('click', function () { control('regenerate'); });
    fillSelect('learning_rate', options.learning_rates);
    fillSelect('activation', options.activations);
    fillSelect('regularization', options.regularizations,
               function (v) { return v === 'none' ? 'None' : v; });
    fillSelect('regularization_rate', options.regularization_rates);
    fillSelect('problem', options.problems, function (v) {
      return v.charAt(0).toUpperCase() + v.slice(1);
    });
    $('train_share').addEventListener('change', function () {
      setup({train_share: +$('train_share').value / 100});
    });
    $('noise').addEventListener('change', function () { setup({noise: +$('noise').value / 100}); });
    $('batch_size').addEventListener('change', function () {
      setup({batch_size: +$('batch_size').value});
    });
    ['noise', 'train_share', 'batch_size'].forEach(function (id) {
      $(id).addEventListener('input', function () {
        var v = +$(id).value;
        $(id + '_text').textContent = id === 'train_share' ? v + '%' : String(v);
      });
    });
    $('add-layer').addEventListener('click', function () {
      var hidden = state.setup.hidden.slice();
      hidden.push(hidden.length ? hidden[hidden.length - 1] : 4);
      setHidden(hidden);
    });
    $('remove-layer').addEventListener('click', function () {
      setHidden(state.setup.hidden.slice(0, -1));
    });
    ['show_test', 'discretize'].forEach(function (id) {
      $(id).addEventListener('change', function () {
        if (state) { drawSurface(); rememberSetup(); }
      });
    });
    $('surface').addEventListener('click', clickSurface);
    $('show-code').addEventListener('click', showCode);
    $('hide-code').addEventListener('click', function () { $('code-panel').hidden = true; });
    $('save').addEventListener('click', save);
    $('load').addEventListener('change', load);
    $('backward-mode').addEventListener('click', toggleStepping);
    $('fit-graph').addEventListener('click', function () {
      setFit($('fit-graph').getAttribute('aria-pressed') !== 'true');
    });
    $('graph').addEventListener('click', zoomAt);
    $('previous-node').addEventListener('click', function () { showStep(stepAt - 1); });
    $('next-node').addEventListener('click', function () { showStep(stepAt + 1); });
    window.addEventListener('resize', function () { structure = ''; if (state) { drawNetwork(); } });
  }

  // A click near a point chooses it; anywhere else adds a training point there.
  function clickSurface(event) {
    var canvas = $('surface'), box = canvas.getBoundingClientRect();
    var px = (event.clientX - box.left) * canvas.width / box.width;
    var py = (event.clientY - box.top) * canvas.height / box.height;
    var best = null, bestDistance = 8;
    function look(points, which) {
      points.forEach(function (p, index) {
        var d = Math.hypot(toPixel(p[0], canvas) - px, toPixelY(p[1], canvas) - py);
        if (d < bestDistance) { best = {which: which, index: index}; bestDistance = d; }
      });
    }
    look(state.train, 'train');
    if ($('show_test').checked) { look(state.test, 'test'); }
    graphShownFor = -1;
    revealGraph();
    if (best) {
      post('/api/point', best);
    } else {
      var x1 = px / canvas.width * 2 * RADIUS - RADIUS;
      var x2 = RADIUS - py / canvas.height * 2 * RADIUS;
      post('/api/point', {x1: x1, x2: x2, label: +$('new_label').value});
    }
  }

  // ------------------------------------------------------------------ the point's graph

  function refreshGraph() {
    if (!state.selected || stepping || graphBusy) { return; }
    if (graphShownFor === state.version) { return; }
    var now = Date.now();
    if (graphShownFor >= 0 && now - graphAskedAt < 400) {
      window.setTimeout(function () { if (state) { refreshGraph(); } }, 420);
      return;
    }
    graphBusy = true;
    graphAskedAt = now;
    var version = state.version;
    request('GET', '/api/graph').then(function (r) { return r.json(); }).then(function (g) {
      graphBusy = false;
      if (stepping) { return; }
      graphShownFor = version;
      showGraph(g);
    }).catch(function (error) { graphBusy = false; say(error.message); });
  }

  // The chosen point is gone (new data, new network): so is its graph.
  function clearGraph() {
    if (stepping) { toggleStepping(); }
    $('graph').textContent = '';
    $('graph-info').textContent = GRAPH_HINT;
    graphShownFor = -1;
  }

  function showGraph(g) {
    var which = g.which === 'train' ? 'training' : 'test';
    $('graph-info').textContent = 'The ' + which + ' point (' + g.x1.toFixed(2) + ', ' +
      g.x2.toFixed(2) + '), label ' + g.label + ': ŷ = ' + g.prediction.toFixed(4) +
      ', loss ½(ŷ − y)² = ' + g.loss.toFixed(4) + ' at epoch ' + g.epoch + ' (' + g.nodes +
      ' nodes' + (g.collapsed ? ', one box per neuron' : '') + '). Built eagerly, one ' +
      'Value per number, even while the training steps are a captured program.';
    $('graph').innerHTML = g.svg;  // SVG made by chaingrad.viz on our own server
    fitGraph();
  }

  // After a click, the graph appears below the fold on small screens: bring it into view.
  function revealGraph() {
    var box = $('graph-panel').getBoundingClientRect();
    if (box.top > window.innerHeight - 120) {
      $('graph-panel').scrollIntoView({block: 'start'});
    }
  }

  function setFit(fit) {
    $('fit-graph').setAttribute('aria-pressed', String(fit));
    fitGraph();
  }

  // A click on the whole (fitted) graph shows that spot at its actual size.
  function zoomAt(event) {
    var svg = $('graph').querySelector('svg');
    if (!svg || $('fit-graph').getAttribute('aria-pressed') !== 'true') { return; }
    var box = svg.getBoundingClientRect();
    var fx = (event.clientX - box.left) / box.width, fy = (event.clientY - box.top) / box.height;
    setFit(false);
    var view = $('graph');
    view.scrollLeft = fx * svg.dataset.width - view.clientWidth / 2;
    view.scrollTop = fy * svg.dataset.height - view.clientHeight / 2;
  }

  // A large graph is first shown whole, scaled to the panel; "Fit to width" toggles it.
  function fitGraph() {
    var svg = $('graph').querySelector('svg');
    if (!svg) { return; }
    if (!svg.dataset.width) {
      svg.dataset.width = svg.getAttribute('width');
      svg.dataset.height = svg.getAttribute('height');
    }
    var fit = $('fit-graph').getAttribute('aria-pressed') === 'true';
    var width = +svg.dataset.width, height = +svg.dataset.height;
    var shown = width;
    if (fit && width > $('graph').clientWidth) {
      // scaled to the panel, but never below 60%: smaller text cannot be read
      shown = Math.max($('graph').clientWidth, 0.6 * width);
    }
    svg.setAttribute('width', String(shown));
    svg.setAttribute('height', String(Math.round(height * shown / width)));
  }

  function toggleStepping() {
    if (stepping) {
      stepping = null;
      $('backward-mode').setAttribute('aria-pressed', 'false');
      $('backward-mode').textContent = 'Step backward';
      $('previous-node').disabled = $('next-node').disabled = true;
      $('step-text').textContent = '';
      graphShownFor = -1;
      refreshGraph();
      return;
    }
    if (!state || !state.selected) { say('click a point first'); return; }
    control('pause');
    request('GET', '/api/graph?steps=1').then(function (r) { return r.json(); }).then(function (g) {
      if (!g.steps) { say('this graph is too large to step through; choose fewer neurons'); return; }
      stepping = g.steps;
      showGraph(g);
      setFit(false);  // the steps are read at the actual size
      $('backward-mode').setAttribute('aria-pressed', 'true');
      $('backward-mode').textContent = 'Leave step backward';
      $('previous-node').disabled = $('next-node').disabled = false;
      showStep(0);
    }).catch(function (error) { say(error.message); });
  }

  // Grads not yet reached are hidden, the current node and its edges are highlighted.
  function showStep(k) {
    stepAt = Math.max(0, Math.min(stepping.length - 1, k));
    var done = {};
    for (var i = 0; i <= stepAt; i++) { done[stepping[i].node] = true; }
    var current = stepping[stepAt];
    document.querySelectorAll('#graph .node').forEach(function (g) {
      g.classList.toggle('no-grad', !done[g.id]);
      g.classList.toggle('active', g.id === current.node);
    });
    document.querySelectorAll('#graph .edge').forEach(function (g) {
      g.classList.toggle('active', current.edges.indexOf(g.id) >= 0);
    });
    document.querySelectorAll('#graph .edge-label').forEach(function (g) {
      g.classList.toggle('no-grad', !done[g.id.split('-')[2]]);
    });
    $('step-text').textContent = 'step ' + (stepAt + 1) + ' of ' + stepping.length + ': ' +
      current.text;
    // centre the current node in the graph's own scroll box (the page itself stays put)
    var active = document.querySelector('#graph .node.active');
    if (active) {
      var view = $('graph'), box = view.getBoundingClientRect();
      var node = active.getBoundingClientRect();
      view.scrollLeft += node.left + node.width / 2 - (box.left + view.clientWidth / 2);
      view.scrollTop += node.top + node.height / 2 - (box.top + view.clientHeight / 2);
    }
  }

  // ------------------------------------------------------------------ code and files

  function showCode() {
    request('GET', '/api/code').then(function (r) { return r.text(); }).then(function (text) {
      $('code').textContent = text;
      $('code-panel').hidden = false;
      $('code-panel').scrollIntoView();
    }).catch(function (error) { say(error.message); });
  }

  function save() {
    request('GET', '/api/save').then(function (r) { return r.blob(); }).then(function (blob) {
      var link = document.createElement('a');
      link.href = URL.createObjectURL(blob);
      link.download = 'playground_network.npz';
      document.body.appendChild(link);
      link.click();
      link.remove();
    }).catch(function (error) { say(error.message); });
  }

  function load() {
    var file = $('load').files[0];
    if (!file) { return; }
    file.arrayBuffer().then(function (content) {
      return request('POST', '/api/load', content, true);
    }).then(function () { say('Loaded ' + file.name + '.', 'ok'); $('load').value = ''; })
      .catch(function (error) { say(explain(error)); $('load').value = ''; });
  }

  // ------------------------------------------------------------------ the set-up in the URL

  // As in TensorFlow Playground, the address carries the set-up, so a link shares it, in
  // TF's own key names: #activation=tanh&learningRate=0.03&networkShape=4,2&x=true...
  // The server writes the set-up's keys; the page adds its own two (showTestData,
  // discretize). Reading is key by key: a key that cannot be read is named and skipped.
  function linkOf() {
    var pairs = state.link.concat([['showTestData', String($('show_test').checked)],
                                   ['discretize', String($('discretize').checked)]]);
    return '#' + pairs.map(function (pair) {
      return pair[0] + '=' + encodeURIComponent(pair[1]).replace(/%2C/g, ',');
    }).join('&');
  }

  function readLink(hash) {
    var pairs = {}, unreadable = [];
    hash.replace(/^#/, '').split('&').forEach(function (pair) {
      if (!pair) { return; }
      var cut = pair.indexOf('=');
      var key = cut < 0 ? pair : pair.slice(0, cut), value = cut < 0 ? '' : pair.slice(cut + 1);
      try {
        pairs[decodeURIComponent(key)] = decodeURIComponent(value.replace(/\+/g, ' '));
      } catch (error) {  // a truncated %-escape: name it, read the rest
        unreadable.push(key.slice(0, 40) + ': its value is cut short or garbled');
      }
    });
    return request('POST', '/api/link', {pairs: pairs}).then(function (r) { return r.json(); })
      .then(function (answer) {
        if ('showTestData' in answer.page) { $('show_test').checked = answer.page.showTestData; }
        if ('discretize' in answer.page) { $('discretize').checked = answer.page.discretize; }
        var skipped = unreadable.concat(answer.skipped);
        if (skipped.length) {
          say('From the link, skipped ' + skipped.join('; ') + '. The rest was applied.', 'warn');
        } else { say(''); }
        if (state) { drawSurface(); rememberSetup(); }
      }).catch(function (error) { say(explain(error)); });
  }

  function rememberSetup() {
    var hash = linkOf();
    if (transport.links && window.location.hash !== hash) {
      window.history.replaceState(null, '', hash);
    }
  }

  // ------------------------------------------------------------------ start

  // read-only, for tests and the curious: the newest snapshot the page drew
  window.chaingradPlayground = {
    state: function () { return state; },
    draws: function () { return draws; }  // pictures drawn so far (bench/bench_playground.py)
  };

  request('POST', '/api/session', {}).then(function (r) { return r.json(); }).then(function (start) {
    session = start.session;
    options = start.options;
    GRAPH_HINT = $('graph-info').textContent;
    wireControls();
    var asked = transport.links && window.location.hash.length > 1 ? window.location.hash : null;
    show(start.state);
    if (asked) { readLink(asked); }
    // a set-up pasted into the address bar of this tab (our own replaceState fires none)
    window.addEventListener('hashchange', function () {
      if (transport.links && window.location.hash.length > 1) { readLink(window.location.hash); }
    });
    // closing the tab frees its network at once (the server also notices silence)
    window.addEventListener('pagehide', function () { transport.bye(session); });
    poll();
  }).catch(function (error) { say(explain(error)); });
}

// The local server's transport: fetch, with the tab's session in a header.
function httpTransport() {
  return {
    links: true,  // the set-up lives in the address bar
    gone: 'The playground server has stopped: start it again (chaingrad playground), ' +
      'then reload this page.',
    request: function (method, path, body, raw, session) {
      var init = {method: method, headers: {'X-Session': session || ''}};
      if (body !== undefined) {
        init.body = raw ? body : JSON.stringify(body);
        init.headers['Content-Type'] = raw ? 'application/octet-stream' : 'application/json';
      }
      return fetch(path, init).then(function (response) {
        if (!response.ok) {
          return response.text().then(function (text) { throw new Error(text); });
        }
        return response;
      });
    },
    bye: function (session) {
      navigator.sendBeacon('/api/bye?session=' + encodeURIComponent(session), '');
    }
  };
}

// The notebook widget's transport: the same requests as messages on a MessagePort, which
// the widget's front-end (widget.py) forwards to the kernel; answers come back by id.
var REPLY_SECONDS = 30;  // a kernel busy longer than this is reported, not waited for
function portTransport(port) {
  var waiting = {}, next = 0;
  port.onmessage = function (event) {
    var answer = event.data, pending = waiting[answer.id];
    if (!pending) { return; }
    delete waiting[answer.id];
    window.clearTimeout(pending.timer);
    if (answer.status >= 400) { pending.fail(new Error(answer.text)); return; }
    pending.done({
      ok: true,
      json: function () { return Promise.resolve(JSON.parse(answer.text)); },
      text: function () { return Promise.resolve(answer.text); },
      blob: function () {
        var bytes = Uint8Array.from(atob(answer.bytes || ''), function (c) { return c.charCodeAt(0); });
        return Promise.resolve(new Blob([bytes]));
      }
    });
  };
  function encode(buffer) {  // a file to load, as base64
    var bytes = new Uint8Array(buffer), text = '';
    for (var i = 0; i < bytes.length; i += 8192) {
      text += String.fromCharCode.apply(null, bytes.subarray(i, i + 8192));
    }
    return btoa(text);
  }
  return {
    links: false,  // inside a notebook the address bar is the notebook's own
    gone: 'The notebook\'s kernel does not answer: is it busy, or restarted? ' +
      'Run the widget\'s cell again.',
    request: function (method, path, body, raw, session) {
      var id = next++;
      var message = {id: id, method: method, path: path, session: session || ''};
      if (body !== undefined) {
        if (raw) { message.bytes = encode(body); } else { message.text = JSON.stringify(body); }
      }
      return new Promise(function (done, fail) {
        var timer = window.setTimeout(function () {
          delete waiting[id];
          fail(new TypeError('no answer'));
        }, REPLY_SECONDS * 1000);
        waiting[id] = {done: done, fail: fail, timer: timer};
        port.postMessage(message);
      });
    },
    bye: function (session) { port.postMessage({id: -1, method: 'POST', path: '/api/bye', session: session}); }
  };
}

// The page starts itself over HTTP; inside a widget (CHAINGRAD_WIDGET) it waits for the
// message port its frame's parent hands it.
if (window.CHAINGRAD_WIDGET) {
  window.addEventListener('message', function take(event) {
    if (event.data !== 'chaingrad-port' || !event.ports.length) { return; }
    window.removeEventListener('message', take);
    chaingradPlayground(portTransport(event.ports[0]));
  });
} else {
  chaingradPlayground(httpTransport());
}
