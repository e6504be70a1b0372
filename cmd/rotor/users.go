package main

import (
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/rotorauth/rotor/storage"
)

// minPasswordLen follows NIST SP 800-63B's minimum for user-chosen secrets.
const minPasswordLen = 8

func (a *app) usersCommand() *cobra.Command {
	users := groupCommand(&cobra.Command{Use: "users", Short: "Manage users"})
	var email string
	var fromStdin bool
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a user; the password is read from stdin",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !fromStdin {
				return errors.New("--password-stdin is required: passwords are never taken as arguments")
			}
			// ParseAddress also accepts "Name <addr>" forms, which would be
			// stored verbatim and never match a login: only a bare address.
			if addr, err := mail.ParseAddress(email); err != nil || addr.Address != strings.TrimSpace(email) {
				return fmt.Errorf("--email %q is not an email address", email)
			}
			password, err := readSecretLine(a.stdin)
			if err != nil {
				return err
			}
			if utf8.RuneCountInString(password) < minPasswordLen {
				return fmt.Errorf("password must be at least %d characters", minPasswordLen)
			}
			return a.withEnv(cmd.Context(), func(e *env) error {
				u, err := e.store.CreateUser(cmd.Context(), email, password)
				if errors.Is(err, storage.ErrConflict) {
					return fmt.Errorf("a user with email %s already exists", storage.NormalizeEmail(email))
				} else if err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "created user %s (%s)\n", u.Email, u.ID)
				return nil
			})
		},
	}
	create.Flags().StringVar(&email, "email", "", "the user's email address (required)")
	create.Flags().BoolVar(&fromStdin, "password-stdin", false, "read the password from stdin (required)")
	_ = create.MarkFlagRequired("email")
	users.AddCommand(create)
	return users
}
