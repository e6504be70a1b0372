package deploy

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// exampleMain wraps a README's Go example into a program: the examples are
// fragments of a main that has an Echo instance e.
const exampleMain = `package main

import (
	"log"
	"net/http"

	"github.com/labstack/echo/v4"

	"%s/resource"
)

// The examples may not use every import.
var (
	_ = log.Fatal
	_ = http.StatusOK
	_ = resource.NewVerifier
)

var e = echo.New()

func main() {
%s
	_ = e
}
`

var goBlock = regexp.MustCompile("(?s)```go\n(.*?)```")

// resourceExamples returns the Go blocks of the Markdown file at path that
// use package resource.
func resourceExamples(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range goBlock.FindAllStringSubmatch(string(b), -1) {
		if strings.Contains(m[1], "resource.") {
			out = append(out, m[1])
		}
	}
	return out
}

// modulePath reads the module directive of go.mod in root.
func modulePath(t *testing.T, root string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		if p, ok := strings.CutPrefix(strings.TrimSpace(line), "module "); ok {
			return strings.Trim(strings.TrimSpace(p), `"`)
		}
	}
	t.Fatal("go.mod has no module directive")
	return ""
}

// goTool is the go command of the toolchain `go env GOROOT` names.
func goTool(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Fatalf("go env GOROOT: %v", err)
	}
	return filepath.Join(strings.TrimSpace(string(out)), "bin", "go")
}

// TestResourceExampleBuildsInAnotherModule builds the resource package's
// README examples in a module of their own that requires Rotor by its
// module path, as an API that ran `go get <module>/resource` would: the
// module path must be one another module can require, and the examples
// must compile against the package as it is. A misspelt example must fail,
// so the check is not vacuous.
func TestResourceExampleBuildsInAnotherModule(t *testing.T) {
	root := repoRoot(t)
	mod := modulePath(t, root)
	// host/owner/name: a path `go get` can resolve, not a bare name.
	if parts := strings.Split(mod, "/"); len(parts) < 3 || !strings.Contains(parts[0], ".") {
		t.Fatalf("module path %q is not of the form host/owner/name", mod)
	}
	var examples []string
	for _, readme := range []string{filepath.Join(root, "resource", "README.md"), filepath.Join(root, "README.md")} {
		got := resourceExamples(t, readme)
		if len(got) == 0 {
			t.Fatalf("%s has no Go example using package resource", readme)
		}
		examples = append(examples, got...)
	}
	goCmd := goTool(t)
	env := append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off", "GOTOOLCHAIN=local", "CGO_ENABLED=0")

	tests := []struct {
		name    string
		body    string
		wantErr string // "" means it must build
	}{
		{name: "README examples", body: scoped(examples...)},
		{name: "a misspelt function fails", body: scoped(strings.Replace(examples[0], "resource.NewVerifier(", "resource.NewVerifer(", 1)),
			wantErr: "undefined: resource.NewVerifer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			goMod := "module example.com/api\n\ngo 1.26\n\nrequire " + mod + " v0.0.0\n\nreplace " + mod + " => " + root + "\n"
			write(t, filepath.Join(dir, "go.mod"), goMod)
			write(t, filepath.Join(dir, "main.go"), fmt.Sprintf(exampleMain, mod, tt.body))
			ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
			defer cancel()
			run := func(args ...string) (string, error) {
				cmd := exec.CommandContext(ctx, goCmd, args...)
				cmd.Dir, cmd.Env = dir, env
				var out bytes.Buffer
				cmd.Stdout, cmd.Stderr = &out, &out
				err := cmd.Run()
				return out.String(), err
			}
			if out, err := run("mod", "tidy"); err != nil {
				t.Fatalf("go mod tidy: %v\n%s", err, out)
			}
			out, err := run("build", "-o", os.DevNull, ".")
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("go build: %v\n%s\nmain.go:\n%s", err, out, readFile(t, filepath.Join(dir, "main.go")))
			case tt.wantErr != "" && err == nil:
				t.Fatalf("go build succeeded, want an error containing %q", tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(out, tt.wantErr):
				t.Fatalf("go build failed without %q:\n%s", tt.wantErr, out)
			}
		})
	}
}

// scoped puts each example in a block of its own, so that they may declare
// the same names.
func scoped(examples ...string) string {
	var b strings.Builder
	for _, ex := range examples {
		b.WriteString("\t{\n")
		for line := range strings.Lines(ex) {
			b.WriteString("\t\t" + line)
		}
		b.WriteString("\t}\n")
	}
	return b.String()
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
