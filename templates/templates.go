// Package templates holds Rotor's server-rendered pages and their static
// assets, embedded in the binary so the server runs from an empty directory.
package templates

import (
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"path"
)

//go:embed *.html
var pages embed.FS

//go:embed static
var static embed.FS

//go:embed app
var app embed.FS

// Pages parses every page together with the shared layout. Each page
// defines "content"; they are parsed apart so that their "content"
// definitions don't overwrite each other. The map is keyed by file name.
func Pages() (map[string]*template.Template, error) {
	names, err := fs.Glob(pages, "*.html")
	if err != nil {
		return nil, err
	}
	out := map[string]*template.Template{}
	for _, name := range names {
		if name == "layout.html" {
			continue
		}
		t, err := template.New(path.Base(name)).ParseFS(pages, "layout.html", name)
		if err != nil {
			return nil, fmt.Errorf("parse page %s: %w", name, err)
		}
		out[name] = t
	}
	return out, nil
}

// Static returns the static assets (CSS), served under /static/.
func Static() fs.FS {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the directory is embedded at build time
	}
	return sub
}

// App returns the demo single-page app (plain HTML and JS, no build step),
// served under /app/.
func App() fs.FS {
	sub, err := fs.Sub(app, "app")
	if err != nil {
		panic(err) // the directory is embedded at build time
	}
	return sub
}

// AppFile returns one file of the demo app.
func AppFile(name string) ([]byte, error) {
	return fs.ReadFile(App(), name)
}
