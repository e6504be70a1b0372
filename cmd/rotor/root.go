package main

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/spf13/cobra"

	"github.com/rotorauth/rotor/configs"
	"github.com/rotorauth/rotor/keys"
	"github.com/rotorauth/rotor/storage"
)

// app carries what every subcommand shares: the process's streams and
// environment, and the --config flag.
type app struct {
	environ    []string
	stdin      io.Reader
	stdout     io.Writer
	stderr     io.Writer
	configPath string
}

func newRootCommand(environ []string, stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	a := &app{environ: environ, stdin: stdin, stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:           "rotor",
		Short:         "Rotor: an OAuth 2.0 / OpenID Connect token server",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().StringVar(&a.configPath, "config", getenv(environ, "ROTOR_CONFIG"),
		"configuration file (default: built-in defaults; env ROTOR_CONFIG)")
	root.AddCommand(a.serveCommand(), a.migrateCommand(), a.usersCommand(), a.clientsCommand(), a.sessionsCommand(), a.gcCommand(), a.auditCommand(), a.keysCommand(), a.benchCommand())
	return root
}

// groupCommand makes a command that only holds subcommands refuse an
// unknown subcommand: left to cobra, `rotor clients remove` would print the
// help and exit 0, so a typo in a script would pass for success.
func groupCommand(c *cobra.Command) *cobra.Command {
	c.Args = cobra.NoArgs
	c.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
	return c
}

func getenv(environ []string, key string) string {
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v
		}
	}
	return ""
}

func (a *app) loadConfig() (configs.Config, error) {
	return configs.Load(a.configPath, a.environ)
}

func (a *app) logger(cfg configs.Config) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Log.Level))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Log.Format == "text" {
		return slog.New(slog.NewTextHandler(a.stderr, opts))
	}
	return slog.New(slog.NewJSONHandler(a.stderr, opts))
}

// env is an opened configuration: store migrated, system secret resolved.
type env struct {
	// previous are retired system secrets (secrets.previous): what was made
	// under them stays readable.
	previous [][]byte
	// auditObserver receives every audit event once the server runs.
	auditObserver *atomic.Pointer[func(storage.AuditEvent)]
	cfg           configs.Config
	log           *slog.Logger
	store         *storage.Store
	secret        []byte
}

// open loads the configuration, opens and migrates the database and
// resolves the system secret.
func (a *app) open(ctx context.Context) (*env, error) {
	cfg, err := a.loadConfig()
	if err != nil {
		return nil, err
	}
	log := a.logger(cfg)
	if links := configs.ServiceLinks(a.environ); len(links) > 0 {
		log.Debug("ignored Kubernetes service-link variables", "names", links)
	}
	var observers atomic.Pointer[func(storage.AuditEvent)]
	store, err := storage.Open(ctx, cfg.Database.DSN, storage.Options{
		BusyTimeout:       cfg.Database.BusyTimeout,
		MaxReadConns:      cfg.Database.MaxOpenConns,
		ConnMaxLifetime:   cfg.Database.ConnMaxLifetime,
		RefreshReuseGrace: cfg.Tokens.RefreshReuseGrace,
		SessionMaxTTL:     cfg.Tokens.SessionMaxTTL,
		Hasher:            storage.DefaultPasswordHasher().Bound(cfg.Security.HashConcurrency, cfg.Security.HashWait),
		OnAudit:           auditHook(log, &observers),
	})
	if err != nil {
		return nil, err
	}
	if applied, err := store.Migrate(ctx); err != nil {
		store.Close()
		return nil, err
	} else if len(applied) > 0 {
		log.Info("database migrated", "path", store.Path(), "applied", applied)
	}
	dataDir := "data" // PostgreSQL: a local setup still keeps its secret on disk
	if store.Path() != "" {
		dataDir = filepath.Dir(store.Path())
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		store.Close()
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	secret, err := systemSecret(cfg, dataDir, log)
	if err != nil {
		store.Close()
		return nil, err
	}
	var previous [][]byte
	for _, p := range cfg.Secrets.Previous {
		previous = append(previous, []byte(p))
	}
	return &env{cfg: cfg, log: log, store: store, secret: secret, previous: previous, auditObserver: &observers}, nil
}

// withEnv runs fn on an opened configuration and closes it afterwards.
func (a *app) withEnv(ctx context.Context, fn func(*env) error) error {
	e, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer e.store.Close()
	return fn(e)
}

// secretFileName holds the generated system secret of a local setup.
const secretFileName = "system.secret"

// systemSecret returns secrets.system, or for a loopback-only setup
// without one a secret generated once into the data directory. Any other
// setup never gets here without a secret: configs.Validate refuses it.
func systemSecret(cfg configs.Config, dataDir string, log *slog.Logger) ([]byte, error) {
	if cfg.Secrets.System != "" {
		return []byte(cfg.Secrets.System), nil
	}
	if !cfg.LoopbackOnly() {
		return nil, errors.New("secrets.system is required when the server is not loopback-only")
	}
	path := filepath.Join(dataDir, secretFileName)
	b, err := os.ReadFile(path)
	if err == nil {
		secret := strings.TrimSpace(string(b))
		if len(secret) < 32 {
			return nil, fmt.Errorf("system secret in %s is shorter than 32 characters", path)
		}
		return []byte(secret), nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read system secret: %w", err)
	}
	raw := make([]byte, 32)
	if _, err := io.ReadFull(randReader, raw); err != nil {
		return nil, fmt.Errorf("generate system secret: %w", err)
	}
	secret := base64.RawURLEncoding.EncodeToString(raw)
	if err := os.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("write system secret: %w", err)
	}
	log.Warn("secrets.system is not set: generated one for this local setup; set ROTOR_SECRETS_SYSTEM in production", "path", path)
	return []byte(secret), nil
}

// derivedKeys are the purpose-specific keys taken from the system secret.
type derivedKeys struct {
	hmac, successor, clientSecret, csrf, bffSessions []byte
}

func deriveKeys(secret []byte) derivedKeys {
	return derivedKeys{
		hmac:         keys.DeriveKey(secret, "token hmac"),
		successor:    keys.DeriveKey(secret, "refresh token successor"),
		clientSecret: keys.DeriveKey(secret, "client secret hash"),
		csrf:         keys.DeriveKey(secret, "csrf"),
		bffSessions:  keys.DeriveKey(secret, "bff session encryption"),
	}
}

// maxSecretLen bounds what readSecretLine accepts.
const maxSecretLen = 4096

// readSecretLine reads one line (a password or client secret) from r.
func readSecretLine(r io.Reader) (string, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxSecretLen+1))
	if err != nil {
		return "", fmt.Errorf("read stdin: %w", err)
	}
	if len(b) > maxSecretLen {
		// Truncating would silently store a different secret.
		return "", fmt.Errorf("stdin must hold at most %d bytes", maxSecretLen)
	}
	s := strings.TrimRight(string(b), "\r\n")
	if strings.ContainsAny(s, "\r\n") {
		return "", errors.New("stdin must hold exactly one line")
	}
	return s, nil
}

// splitList parses a comma-separated flag value.
func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// auditHook writes each audit event as one structured log line (the
// events carry no token or secret) and hands it to the observer the server
// registers for its metrics.
func auditHook(log *slog.Logger, observer *atomic.Pointer[func(storage.AuditEvent)]) func(storage.AuditEvent) {
	return func(e storage.AuditEvent) {
		log.Info("audit", "event", e.Type, "sub", e.Subject, "email", e.Email, "client_id", e.ClientID,
			"family_id", e.FamilyID, "ip", e.IP, "user_agent", e.UserAgent, "detail", e.Detail)
		if f := observer.Load(); f != nil {
			(*f)(e)
		}
	}
}

// previousKeys derives purpose's key from every retired system secret.
func (e *env) previousKeys(purpose string) [][]byte {
	var out [][]byte
	for _, p := range e.previous {
		out = append(out, keys.DeriveKey(p, purpose))
	}
	return out
}
