package deploy

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"

	"github.com/rotorauth/rotor/configs"
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
