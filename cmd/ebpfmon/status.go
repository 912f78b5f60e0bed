package main

import (
	"encoding/json"
	"html/template"
	"log/slog"
	"net/http"
	"time"

	"github.com/ebpfmon/ebpfmon/exporter"
)

// statusPath serves every config's state, programs and last error: HTML,
// or JSON with ?format=json.
const statusPath = "/status"

// statusHandler serves /status. Config names, errors and verifier logs
// are text from files and the kernel: html/template escapes them.
func statusHandler(exp *exporter.Exporter, logger *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		configs := exp.Status()
		if r.URL.Query().Get("format") == "json" {
			w.Header().Set("Content-Type", "application/json")
			enc := json.NewEncoder(w)
			enc.SetIndent("", "  ")
			if err := enc.Encode(configs); err != nil {
				logger.Debug(statusPath, "err", err)
			}
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if err := statusPage.Execute(w, statusData{Configs: configs, Now: time.Now()}); err != nil {
			logger.Debug(statusPath, "err", err)
		}
	}
}

// statusData is what statusPage shows.
type statusData struct {
	Configs []exporter.ConfigStatus
	Now     time.Time
}

// since is how long ago t was, to the second.
func since(now, t time.Time) string {
	return now.Sub(t).Truncate(time.Second).String()
}

var statusPage = template.Must(template.New("status").Funcs(template.FuncMap{"since": since}).Parse(`<!doctype html>
<html><head><title>ebpfmon status</title>
<style>
body { font-family: sans-serif; }
table { border-collapse: collapse; }
td, th { border: 1px solid #ccc; padding: 2px 6px; text-align: left; vertical-align: top; }
pre { background: #f4f4f4; padding: 4px; white-space: pre-wrap; }
.loaded { color: #070; } .partial { color: #a60; } .failed { color: #b00; }
</style></head><body>
<h1>ebpfmon status</h1>
<p><a href="/">Home</a> · <a href="?format=json">JSON</a> · at {{.Now.UTC.Format "2006-01-02 15:04:05 MST"}}</p>
{{$now := .Now}}
<table>
<tr><th>config</th><th>state</th><th>loaded</th><th>last error</th></tr>
{{range .Configs}}<tr><td><a href="#config-{{.Name}}">{{.Name}}</a></td><td class="{{.State}}">{{.State}}</td>
<td>{{with .LoadedAt}}{{since $now .}} ago{{else}}not running{{end}}</td>
<td>{{with .LastError}}{{.Stage}}{{else}}none{{end}}</td></tr>
{{else}}<tr><td colspan="4">no configs</td></tr>{{end}}
</table>
{{range .Configs}}
<h2 id="config-{{.Name}}">{{.Name}}: <span class="{{.State}}">{{.State}}</span></h2>
<p>{{with .LoadedAt}}Running since {{.UTC.Format "2006-01-02 15:04:05 MST"}} ({{since $now .}} ago).{{else}}No version runs: its metrics are missing.{{end}}</p>
{{with .LastError}}
<h3>Last load failed at the {{.Stage}} stage</h3>
<p>{{.At.UTC.Format "2006-01-02 15:04:05 MST"}} ({{since $now .At}} ago){{with .File}}, file <code>{{.}}</code>{{end}}.</p>
<pre>{{.Message}}</pre>
{{with .VerifierLog}}<h4>Verifier log (last lines)</h4>
<pre>{{range .}}{{.}}
{{end}}</pre>{{end}}
{{end}}
{{with .Programs}}<table>
<tr><th>program</th><th>section</th><th>attached</th></tr>
{{range .}}<tr><td>{{.Name}}</td><td><code>{{.Section}}</code></td><td>{{if .Attached}}yes{{else}}no: {{.Error}}{{end}}</td></tr>
{{end}}</table>{{end}}
{{end}}
</body></html>
`))
