package deploy

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"

	"rotor/configs"
)

// testSecret stands in for the operator's ROTOR_SECRETS_SYSTEM.
const testSecret = "0123456789abcdef0123456789abcdef-test-secret"

var (
	rotorServices = []string{"rotor-1", "rotor-2"}
	// longRunning are the services that must report health.
	longRunning = []string{"postgres", "rotor-1", "rotor-2"}
	// rotorImage are the services built from the repository's Dockerfile.
	rotorImage = []string{"migrate", "rotor-1", "rotor-2"}
)

// repoRoot is the directory holding docker-compose.yml and Dockerfile.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// loadCompose loads docker-compose.yml the way `docker compose` does, with
// env as the only environment.
func loadCompose(t *testing.T, env map[string]string) (*types.Project, error) {
	t.Helper()
	root := repoRoot(t)
	details := types.ConfigDetails{
		WorkingDir:  root,
		ConfigFiles: []types.ConfigFile{{Filename: filepath.Join(root, "docker-compose.yml")}},
		Environment: types.Mapping(env),
	}
	return loader.LoadWithContext(context.Background(), details)
}

func mustLoadCompose(t *testing.T, env map[string]string) *types.Project {
	t.Helper()
	p, err := loadCompose(t, env)
	if err != nil {
		t.Fatalf("load docker-compose.yml: %v", err)
	}
	return p
}

func service(t *testing.T, p *types.Project, name string) types.ServiceConfig {
	t.Helper()
	s, err := p.GetService(name)
	if err != nil {
		t.Fatalf("service %q: %v", name, err)
	}
	return s
}

// envValue returns a service's environment variable, failing the test when
// it is missing or has no value.
func envValue(t *testing.T, s types.ServiceConfig, key string) string {
	t.Helper()
	v, ok := s.Environment[key]
	if !ok || v == nil {
		t.Fatalf("%s: environment %s is not set", s.Name, key)
	}
	return *v
}

func TestComposeServices(t *testing.T) {
	p := mustLoadCompose(t, map[string]string{"ROTOR_SECRETS_SYSTEM": testSecret})
	root := repoRoot(t)

	t.Run("services exist", func(t *testing.T) {
		for _, name := range []string{"postgres", "migrate", "rotor-1", "rotor-2"} {
			if _, err := p.GetService(name); err != nil {
				t.Errorf("service %q: %v", name, err)
			}
		}
	})

	t.Run("postgres image", func(t *testing.T) {
		s := service(t, p, "postgres")
		if !strings.HasPrefix(s.Image, "postgres:16") {
			t.Errorf("postgres image = %q, want postgres:16*", s.Image)
		}
		if s.Build != nil {
			t.Errorf("postgres has a build section; it should use the upstream image")
		}
	})

	t.Run("rotor build", func(t *testing.T) {
		images := map[string]bool{}
		for _, name := range rotorImage {
			s := service(t, p, name)
			if s.Build == nil {
				t.Errorf("%s: no build section", name)
				continue
			}
			if s.Build.Context != root {
				t.Errorf("%s: build context = %q, want the repository root %q", name, s.Build.Context, root)
			}
			if s.Build.Dockerfile != "Dockerfile" {
				t.Errorf("%s: dockerfile = %q, want Dockerfile", name, s.Build.Dockerfile)
			}
			images[s.Image] = true
		}
		// One image name for all three: compose builds it once, and the
		// migration runs the very binary the replicas serve with.
		if len(images) != 1 || images[""] {
			t.Errorf("migrate and the replicas use images %v, want one shared explicit name", images)
		}
	})

	t.Run("migrate is one-shot", func(t *testing.T) {
		s := service(t, p, "migrate")
		if !slices.Equal([]string(s.Command), []string{"migrate"}) {
			t.Errorf("migrate command = %q, want [migrate]", s.Command)
		}
		if s.Restart != "" && s.Restart != types.RestartPolicyNo {
			t.Errorf("migrate restart = %q: a one-shot job must not be restarted", s.Restart)
		}
		if len(s.Ports) != 0 {
			t.Errorf("migrate publishes ports %v", s.Ports)
		}
		dep, ok := s.DependsOn["postgres"]
		if !ok || dep.Condition != types.ServiceConditionHealthy {
			t.Errorf("migrate depends_on postgres = %+v (present %v), want condition service_healthy", dep, ok)
		}
	})

	t.Run("published ports", func(t *testing.T) {
		tests := []struct {
			name      string
			service   string
			published string
			target    uint32
		}{
			{name: "rotor-1 on 8081", service: "rotor-1", published: "8081", target: 8080},
			{name: "rotor-2 on 8082", service: "rotor-2", published: "8082", target: 8080},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s := service(t, p, tt.service)
				if len(s.Ports) != 1 {
					t.Fatalf("%s publishes %d ports, want 1: %+v", tt.service, len(s.Ports), s.Ports)
				}
				if got := s.Ports[0]; got.Published != tt.published || got.Target != tt.target {
					t.Errorf("%s port = %s->%d, want %s->%d", tt.service, got.Published, got.Target, tt.published, tt.target)
				}
			})
		}
	})

	t.Run("healthchecks", func(t *testing.T) {
		for _, name := range longRunning {
			t.Run(name, func(t *testing.T) {
				hc := service(t, p, name).HealthCheck
				switch {
				case hc == nil || hc.Disable:
					t.Fatal("no healthcheck")
				case len(hc.Test) < 2 || (hc.Test[0] != "CMD" && hc.Test[0] != "CMD-SHELL"):
					t.Errorf("healthcheck test = %q, want a CMD or CMD-SHELL command", hc.Test)
				}
				if hc.Interval == nil || hc.Timeout == nil || hc.Retries == nil || hc.StartPeriod == nil {
					t.Errorf("healthcheck needs interval, timeout, retries and start_period: %+v", hc)
				}
				if hc.Timeout != nil && hc.Interval != nil && *hc.Timeout >= *hc.Interval {
					t.Errorf("healthcheck timeout %v is not shorter than the interval %v", hc.Timeout, hc.Interval)
				}
				if hc.Retries != nil && *hc.Retries == 0 {
					t.Error("healthcheck retries is 0")
				}
			})
		}
		t.Run("postgres uses pg_isready", func(t *testing.T) {
			test := strings.Join(service(t, p, "postgres").HealthCheck.Test, " ")
			if !strings.Contains(test, "pg_isready") {
				t.Errorf("postgres healthcheck %q does not run pg_isready", test)
			}
		})
		for _, name := range rotorServices {
			t.Run(name+" probes readyz on the container port", func(t *testing.T) {
				test := strings.Join(service(t, p, name).HealthCheck.Test, " ")
				if !strings.Contains(test, "127.0.0.1:8080/readyz") && !strings.Contains(test, "localhost:8080/readyz") {
					t.Errorf("%s healthcheck %q does not probe :8080/readyz", name, test)
				}
			})
		}
	})

	t.Run("replicas", func(t *testing.T) {
		tests := []struct {
			name      string
			dependsOn string
			condition string
		}{
			{name: "wait for a healthy postgres", dependsOn: "postgres", condition: types.ServiceConditionHealthy},
			{name: "wait for the migration", dependsOn: "migrate", condition: types.ServiceConditionCompletedSuccessfully},
		}
		for _, name := range rotorServices {
			s := service(t, p, name)
			for _, tt := range tests {
				t.Run(name+" "+tt.name, func(t *testing.T) {
					dep, ok := s.DependsOn[tt.dependsOn]
					if !ok {
						t.Fatalf("%s does not depend on %s", name, tt.dependsOn)
					}
					if dep.Condition != tt.condition {
						t.Errorf("%s depends_on %s condition = %q, want %q", name, tt.dependsOn, dep.Condition, tt.condition)
					}
				})
			}
			t.Run(name+" restarts", func(t *testing.T) {
				if s.Restart != types.RestartPolicyUnlessStopped {
					t.Errorf("%s restart = %q, want unless-stopped", name, s.Restart)
				}
			})
		}
	})
}

func TestComposeEnvironment(t *testing.T) {
	t.Run("fixed values", func(t *testing.T) {
		p := mustLoadCompose(t, map[string]string{"ROTOR_SECRETS_SYSTEM": testSecret})
		tests := []struct {
			name string
			key  string
			want string
		}{
			{name: "listen on all interfaces", key: "ROTOR_HTTP_ADDR", want: "0.0.0.0:8080"},
			{name: "postgres database", key: "ROTOR_DATABASE_DSN", want: "postgres://rotor:rotor@postgres:5432/rotor?sslmode=disable"},
			{name: "secret from the environment", key: "ROTOR_SECRETS_SYSTEM", want: testSecret},
			{name: "default issuer", key: "ROTOR_ISSUER", want: "http://localhost:8081"},
			{name: "bff off", key: "ROTOR_BFF_ENABLED", want: "false"},
			{name: "demo off", key: "ROTOR_DEMO_ENABLED", want: "false"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				for _, name := range rotorImage {
					if got := envValue(t, service(t, p, name), tt.key); got != tt.want {
						t.Errorf("%s: %s = %q, want %q", name, tt.key, got, tt.want)
					}
				}
			})
		}
	})

	t.Run("replicas share database, issuer and secret", func(t *testing.T) {
		p := mustLoadCompose(t, map[string]string{
			"ROTOR_SECRETS_SYSTEM": testSecret,
			"ROTOR_ISSUER":         "https://id.example.com",
		})
		for _, key := range []string{"ROTOR_DATABASE_DSN", "ROTOR_ISSUER", "ROTOR_SECRETS_SYSTEM"} {
			t.Run(key, func(t *testing.T) {
				values := map[string][]string{}
				for _, name := range rotorImage {
					v := envValue(t, service(t, p, name), key)
					values[v] = append(values[v], name)
				}
				if len(values) != 1 {
					t.Errorf("%s differs between services: %v", key, values)
				}
			})
		}
		if got := envValue(t, service(t, p, "rotor-2"), "ROTOR_ISSUER"); got != "https://id.example.com" {
			t.Errorf("ROTOR_ISSUER from the environment not used: rotor-2 has %q", got)
		}
	})

	t.Run("secret is required", func(t *testing.T) {
		tests := []struct {
			name string
			env  map[string]string
		}{
			{name: "unset", env: map[string]string{}},
			{name: "empty", env: map[string]string{"ROTOR_SECRETS_SYSTEM": ""}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := loadCompose(t, tt.env)
				if err == nil {
					t.Fatal("docker-compose.yml loaded without ROTOR_SECRETS_SYSTEM")
				}
				if !strings.Contains(err.Error(), "ROTOR_SECRETS_SYSTEM") {
					t.Errorf("error %q does not name ROTOR_SECRETS_SYSTEM", err)
				}
			})
		}
	})

	// What compose hands each container must be a configuration Rotor
	// accepts: unknown ROTOR_* keys and invalid values are rejected by
	// configs.Load, so a typo here would otherwise surface only as a
	// crash-looping container.
	t.Run("rotor accepts the configuration", func(t *testing.T) {
		p := mustLoadCompose(t, map[string]string{"ROTOR_SECRETS_SYSTEM": testSecret})
		for _, name := range rotorImage {
			t.Run(name, func(t *testing.T) {
				s := service(t, p, name)
				var environ []string
				for k, v := range s.Environment {
					if v != nil {
						environ = append(environ, k+"="+*v)
					}
				}
				// The image's own ENV (Dockerfile) comes first; compose's
				// environment overrides it.
				environ = append(dockerfileEnv(t), environ...)
				cfg, err := configs.Load("", environ)
				if err != nil {
					t.Fatalf("configs.Load: %v", err)
				}
				if cfg.HTTP.Addr != "0.0.0.0:8080" {
					t.Errorf("http.addr = %q, want 0.0.0.0:8080", cfg.HTTP.Addr)
				}
				if !strings.HasPrefix(cfg.Database.DSN, "postgres://") {
					t.Errorf("database.dsn = %q, want postgres://", cfg.Database.DSN)
				}
			})
		}
	})
}

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
