/* The few bootstrap-table calls Great Expectations' Data Docs pages make, without the network (no package on PyPI
   ships bootstrap-table): the columns and rows a page passes, as a plain table sorted as it asks; a row click raises
   "click-row.bs.table" as bootstrap-table does, which the pages use to follow a row's link. No search, sorting or
   filter controls. Written for Köprü (kopru.quality.gx._finish_pages). */
(function ($) {
  "use strict";
  function named(option) {
    return typeof option === "string" ? window[option] : option;
  }
  $.fn.bootstrapTable = function (options) {
    if (typeof options !== "object" || options === null) {
      return this;  // methods such as "resetSearch" act on controls this table does not have
    }
    return this.each(function () {
      var $table = $(this);
      var columns = options.columns || [];
      var rows = (options.data || []).slice();
      var attributes = named(options.rowAttributes);
      var style = named(options.rowStyle);
      if (options.sortName) {
        var direction = options.sortOrder === "desc" ? -1 : 1;
        rows.sort(function (a, b) {
          var x = String(a[options.sortName] || ""), y = String(b[options.sortName] || "");
          return (x < y ? -1 : x > y ? 1 : 0) * direction;
        });
      }
      $table.empty().addClass("table table-sm table-hover");
      var $head = $("<tr>").appendTo($("<thead>").appendTo($table));
      columns.forEach(function (column) {
        $("<th>").text(column.title || column.field).appendTo($head);
      });
      var $body = $("<tbody>").appendTo($table);
      rows.forEach(function (row, index) {
        var $row = $("<tr>").appendTo($body);
        if (attributes) {
          $row.attr(attributes(row, index) || {});
        }
        if (style) {
          var look = style(row, index) || {};
          if (look.classes) { $row.addClass(look.classes); }
          if (look.css) { $row.css(look.css); }
        }
        columns.forEach(function (column) {
          var value = row[column.field];
          $("<td>").html(value === undefined || value === null ? "" : String(value)).appendTo($row);
        });
        $row.on("click", function () {
          $table.trigger("click-row.bs.table", [row, $row]);
        });
      });
    });
  };
}(jQuery));
