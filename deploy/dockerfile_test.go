package deploy

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// dockerfileEnv returns the KEY=value pairs of the Dockerfile's ENV
// instructions in the final stage.
func dockerfileEnv(t *testing.T) []string {
	t.Helper()
	var env []string
	for _, in := range finalStage(parseDockerfile(t)) {
		if in.cmd != "ENV" {
			continue
		}
		for _, f := range strings.Fields(in.args) {
			if k, v, ok := strings.Cut(f, "="); ok {
				env = append(env, k+"="+strings.Trim(v, `"`))
			}
		}
	}
	return env
}

// instruction is one Dockerfile instruction with its continuation lines
// joined.
type instruction struct {
	cmd  string // upper case, e.g. FROM
	args string
}

// parseDockerfile reads ../Dockerfile into instructions: comments and blank
// lines dropped, backslash continuations joined. That is all the syntax the
// checks below need.
func parseDockerfile(t *testing.T) []instruction {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var out []instruction
	var cur strings.Builder
	for _, line := range strings.Split(string(b), "\n") {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		if strings.HasSuffix(trimmed, `\`) {
			cur.WriteString(strings.TrimSuffix(trimmed, `\`) + " ")
			continue
		}
		cur.WriteString(trimmed)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		out = append(out, instruction{cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args)})
		cur.Reset()
	}
	return out
}

// finalStage returns the instructions from the last FROM on.
func finalStage(ins []instruction) []instruction {
	last := 0
	for i, in := range ins {
		if in.cmd == "FROM" {
			last = i
		}
	}
	return ins[last:]
}

// stages splits the instructions at each FROM.
func stages(ins []instruction) [][]instruction {
	var out [][]instruction
	for _, in := range ins {
		if in.cmd == "FROM" {
			out = append(out, nil)
		}
		if len(out) > 0 {
			out[len(out)-1] = append(out[len(out)-1], in)
		}
	}
	return out
}

func TestDockerfile(t *testing.T) {
	ins := parseDockerfile(t)
	all := stages(ins)
	final := finalStage(ins)

	find := func(stage []instruction, cmd string) []instruction {
		var out []instruction
		for _, in := range stage {
			if in.cmd == cmd {
				out = append(out, in)
			}
		}
		return out
	}
	last := func(stage []instruction, cmd string) (instruction, bool) {
		found := find(stage, cmd)
		if len(found) == 0 {
			return instruction{}, false
		}
		return found[len(found)-1], true
	}

	tests := []struct {
		name  string
		check func(t *testing.T)
	}{
		{name: "multi-stage", check: func(t *testing.T) {
			if len(all) < 2 {
				t.Errorf("%d FROM instructions, want at least 2", len(all))
			}
		}},
		{name: "build stage uses golang bookworm", check: func(t *testing.T) {
			if len(all) < 2 || !strings.HasPrefix(all[0][0].args, "golang:1.26-bookworm") {
				t.Errorf("first stage: FROM %s, want golang:1.26-bookworm", all[0][0].args)
			}
		}},
		{name: "dependencies downloaded before the source is copied", check: func(t *testing.T) {
			build := all[0]
			download, copyAll := -1, -1
			for i, in := range build {
				if in.cmd == "RUN" && strings.Contains(in.args, "go mod download") && download < 0 {
					download = i
				}
				if in.cmd == "COPY" && regexp.MustCompile(`^\.\s`).MatchString(in.args) && copyAll < 0 {
					copyAll = i
				}
			}
			if download < 0 || copyAll < 0 || download > copyAll {
				t.Errorf("go mod download at %d, COPY . at %d: want the download first", download, copyAll)
			}
		}},
		{name: "cgo build of ./cmd/rotor", check: func(t *testing.T) {
			var ok bool
			for _, stage := range all[:len(all)-1] {
				for _, in := range find(stage, "RUN") {
					if strings.Contains(in.args, "CGO_ENABLED=1") && strings.Contains(in.args, "go build") &&
						strings.Contains(in.args, "./cmd/rotor") {
						ok = true
					}
				}
			}
			if !ok {
				t.Error("no RUN with CGO_ENABLED=1 go build ... ./cmd/rotor in a build stage")
			}
		}},
		{name: "final stage is glibc", check: func(t *testing.T) {
			// A cgo binary cannot run on alpine (musl) or distroless/static.
			from := final[0].args
			if strings.Contains(from, "alpine") || strings.Contains(from, "static") || strings.HasPrefix(from, "scratch") {
				t.Errorf("final stage FROM %s cannot run the cgo binary", from)
			}
		}},
		{name: "runs as a non-root user", check: func(t *testing.T) {
			in, ok := last(final, "USER")
			if !ok {
				t.Fatal("no USER in the final stage")
			}
			user, _, _ := strings.Cut(in.args, ":")
			if user == "" || user == "root" || user == "0" {
				t.Errorf("USER %s runs as root", in.args)
			}
		}},
		{name: "healthcheck", check: func(t *testing.T) {
			in, ok := last(final, "HEALTHCHECK")
			if !ok {
				t.Fatal("no HEALTHCHECK in the final stage")
			}
			if strings.HasPrefix(in.args, "NONE") || !strings.Contains(in.args, "/readyz") {
				t.Errorf("HEALTHCHECK %s does not probe /readyz", in.args)
			}
		}},
		{name: "entrypoint is the rotor binary", check: func(t *testing.T) {
			in, ok := last(final, "ENTRYPOINT")
			if !ok {
				t.Fatal("no ENTRYPOINT in the final stage")
			}
			if in.args != `["/rotor"]` {
				t.Errorf("ENTRYPOINT %s, want [\"/rotor\"] (exec form, so rotor is PID 1 and gets SIGTERM)", in.args)
			}
			var copied bool
			for _, c := range find(final, "COPY") {
				if strings.HasPrefix(c.args, "--from=") && strings.HasSuffix(c.args, " /rotor") {
					copied = true
				}
			}
			if !copied {
				t.Error("the final stage does not COPY --from=<build> ... /rotor")
			}
		}},
		{name: "default command serves", check: func(t *testing.T) {
			if in, ok := last(final, "CMD"); !ok || in.args != `["serve"]` {
				t.Errorf("CMD %q, want [\"serve\"]", in.args)
			}
		}},
		{name: "exposes 8080", check: func(t *testing.T) {
			in, ok := last(final, "EXPOSE")
			if !ok || !slices.Contains(strings.Fields(in.args), "8080") {
				t.Errorf("EXPOSE %q, want 8080", in.args)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, tt.check)
	}
}

func TestDockerignore(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot(t), ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	var patterns []string
	for _, line := range strings.Split(string(b), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			patterns = append(patterns, line)
		}
	}
	tests := []struct {
		name    string
		pattern string
	}{
		{name: "git history", pattern: ".git"},
		{name: "local data", pattern: "data/"},
		{name: "test artifacts", pattern: "artifacts/"},
		{name: "sqlite files", pattern: "*.db*"},
		{name: "node modules", pattern: "node_modules"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !slices.Contains(patterns, tt.pattern) {
				t.Errorf(".dockerignore lacks %q", tt.pattern)
			}
		})
	}
	t.Run("keeps what the build needs", func(t *testing.T) {
		for _, p := range patterns {
			switch strings.TrimPrefix(p, "/") {
			case "go.mod", "go.sum", "cmd", "cmd/", "*.go", "**/*.go", "templates", "templates/", "configs", "configs/":
				t.Errorf(".dockerignore excludes %q, which the build needs", p)
			}
		}
	})
}
