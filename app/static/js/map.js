/* The registry's maps (OpenLayers + proj4, vendored under /static/vendor/).
 *
 * Each <div class="map-panel"> written by the map_panel macro carries its settings in data-
 * attributes (strict CSP: no inline script or style): the features URL, where to open (a box in
 * the registry CRS), the registry CRS and its proj4 definition, the county's base tiles if any,
 * the rights to highlight ("plot.12", or several: "plot.12,plot.13") and the household whose rights
 * are the page's own. Features
 * are fetched by bounding box as the map moves; a box holding too many is refused by the server
 * and the map says so (zoom in). Without JavaScript the server-drawn SVG inside the panel stays.
 */
(function () {
  'use strict';

  var COLOURS = {
    selected: { fill: 'rgba(230, 126, 34, 0.55)', stroke: '#b9570b', width: 3 },
    own: { fill: 'rgba(246, 196, 83, 0.55)', stroke: '#8a6d1d', width: 2 },
    neighbour: { fill: 'rgba(150, 160, 150, 0.35)', stroke: '#66706a', width: 1 },
    homestead: { fill: 'rgba(181, 101, 29, 0.45)', stroke: '#7a3f0c', width: 1.5 }
  };

  function styleOf(ol, panel) {
    var cache = {};
    return function (feature, resolution) {
      var p = feature.getProperties();
      var key;
      if (panel.editing && feature.getId() === panel.selected) {
        return null;  // the outline being edited is drawn by the editor's layer
      }
      if (panel.highlight.indexOf(feature.getId()) !== -1) {
        key = 'selected';
      } else if (panel.household && String(p.household_uid) === panel.household) {
        key = p.kind === 'homestead' ? 'homestead' : 'own';
      } else {
        key = p.kind === 'homestead' ? 'homestead' : 'neighbour';
      }
      var label = resolution < 2 && (key === 'selected' || key === 'own') ? (p.name || p.code) : '';
      var id = key + '|' + label;
      if (!cache[id]) {
        var c = COLOURS[key];
        cache[id] = new ol.style.Style({
          fill: new ol.style.Fill({ color: c.fill }),
          stroke: new ol.style.Stroke({ color: c.stroke, width: c.width }),
          zIndex: key === 'selected' ? 3 : key === 'neighbour' ? 1 : 2,
          text: label ? new ol.style.Text({
            text: label,
            font: '12px sans-serif',
            fill: new ol.style.Fill({ color: '#222' }),
            stroke: new ol.style.Stroke({ color: '#fff', width: 3 }),
            overflow: true
          }) : undefined
        });
      }
      return cache[id];
    };
  }

  function start(el) {
    var ol = window.ol;
    var proj4 = window.proj4;
    var d = el.dataset;
    var status = el.querySelector('.map-status');
    var target = el.querySelector('.map-canvas');
    if (!ol || !proj4 || !target || !d.features || el.classList.contains('map-live')) {
      return;
    }
    proj4.defs(d.registryCrs, d.registryProj4);
    ol.proj.proj4.register(proj4);
    var viewProjection = d.tiles ? 'EPSG:3857' : d.registryCrs;
    var extent = ol.proj.transformExtent(
      d.extent.split(',').map(Number), d.registryCrs, viewProjection);
    var panel = {
      selected: d.selected || '',
      highlight: (d.selected || '').split(',').filter(Boolean),
      household: d.household || ''
    };

    function say(text) {
      if (status) {
        status.textContent = text || '';
        status.hidden = !text;
      }
    }

    var format = new ol.format.GeoJSON();
    var source = new ol.source.Vector({
      format: format,
      strategy: ol.loadingstrategy.bbox,
      loader: function (box, resolution, projection, success, failure) {
        var url = d.features + '?bbox=' + box.map(function (v) { return v.toFixed(2); }).join(',') +
          '&crs=' + encodeURIComponent(projection.getCode());
        fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
          .then(function (response) {
            return response.json().then(function (body) { return { ok: response.ok, body: body }; });
          })
          .then(function (answer) {
            if (!answer.ok) {
              say(answer.body && answer.body.error ? answer.body.error.message : d.msgFailed);
              source.removeLoadedExtent(box);
              failure();
              return;
            }
            var features = format.readFeatures(answer.body, { featureProjection: projection });
            source.addFeatures(features);
            say('');
            success(features);
          })
          .catch(function () {
            say(d.msgFailed);
            source.removeLoadedExtent(box);
            failure();
          });
      }
    });

    var layers = [];
    if (d.tiles) {
      layers.push(new ol.layer.Tile({ source: new ol.source.XYZ({ url: d.tiles }) }));
    }
    layers.push(new ol.layer.Vector({ source: source, style: styleOf(ol, panel) }));

    el.classList.add('map-live');
    var map = new ol.Map({
      target: target,
      layers: layers,
      controls: ol.control.defaults.defaults({ attribution: false }).extend([
        new ol.control.ScaleLine({ units: 'metric' })
      ]),
      view: new ol.View({ projection: viewProjection, maxZoom: 24 })
    });
    map.getView().fit(extent, { size: map.getSize(), maxZoom: 21 });

    // A click on a plot or homestead opens its page (when the reader may open it).
    map.on('singleclick', function (event) {
      if (panel.editing) {
        return;
      }
      var href = null;
      map.forEachFeatureAtPixel(event.pixel, function (feature) {
        href = feature.get('href');
        return !!href;
      });
      if (href) {
        window.location.assign(href);
      }
    });
    map.on('pointermove', function (event) {
      var hit = map.hasFeatureAtPixel(event.pixel);
      target.classList.toggle('map-pointer', hit);
    });
    if (d.edit) {
      editor(ol, el, map, source, format, panel, d, viewProjection);
    }
    el.olMap = map;  // for the browser tests
  }

  /* The plot form's outline editor: the outline is drawn or its corners dragged on the map,
   * snapping to the neighbours' corners and edges, and written as GeoJSON in the registry CRS
   * into the form's geometry field (its CRS field set to match). The form is then submitted as
   * if the outline had been pasted: the same service and the same checks. */
  function editor(ol, el, map, neighbours, format, panel, d, viewProjection) {
    var form = el.closest('form');
    var field = form && form.elements.namedItem(d.edit);
    var crsField = form && form.elements.namedItem(d.editCrs);
    if (!field) {
      return;
    }
    panel.editing = true;  // the stored outline of the plot is hidden under the edited one
    var outline = new ol.source.Vector();
    map.addLayer(new ol.layer.Vector({
      source: outline,
      zIndex: 10,
      style: new ol.style.Style({
        fill: new ol.style.Fill({ color: 'rgba(52, 120, 246, 0.25)' }),
        stroke: new ol.style.Stroke({ color: '#1f5fd1', width: 2.5 })
      })
    }));
    if (d.outline) {
      outline.addFeature(new ol.Feature(format.readGeometry(JSON.parse(d.outline), {
        dataProjection: d.registryCrs, featureProjection: viewProjection
      })));
    }

    function write() {
      var features = outline.getFeatures();
      if (!features.length) {
        return;
      }
      field.value = format.writeGeometry(features[0].getGeometry(), {
        dataProjection: d.registryCrs, featureProjection: viewProjection, decimals: 3
      });
      if (crsField) {
        crsField.value = d.registryCrs;
      }
    }

    var draw = null;
    function startDrawing() {
      outline.clear();
      if (draw) {
        map.removeInteraction(draw);
      }
      draw = new ol.interaction.Draw({ source: outline, type: 'Polygon' });
      draw.on('drawend', function () {
        map.removeInteraction(draw);
        draw = null;
        setTimeout(write, 0);  // the feature joins the source after drawend
      });
      map.addInteraction(draw);
      addSnapping();
    }

    var snaps = [];
    function addSnapping() {
      // Snap interactions must come after the ones they serve.
      snaps.forEach(function (s) { map.removeInteraction(s); });
      snaps = [new ol.interaction.Snap({ source: neighbours }), new ol.interaction.Snap({ source: outline })];
      snaps.forEach(function (s) { map.addInteraction(s); });
    }

    var modify = new ol.interaction.Modify({ source: outline });
    modify.on('modifyend', write);
    map.addInteraction(modify);
    if (outline.getFeatures().length) {
      addSnapping();
    } else {
      startDrawing();
    }
    var again = el.querySelector('.map-redraw');
    if (again) {
      again.addEventListener('click', startDrawing);
    }
  }

  function startAll() {
    var panels = document.querySelectorAll('.map-panel');
    for (var i = 0; i < panels.length; i++) {
      start(panels[i]);
    }
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', startAll);
  } else {
    startAll();
  }
}());
