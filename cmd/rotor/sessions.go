package main

import (
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/ory/fosite"
	"github.com/spf13/cobra"

	"github.com/rotorauth/rotor/storage"
)

// reasonAdmin is recorded on families revoked from the CLI.
const reasonAdmin = "admin_revoked"

func (a *app) sessionsCommand() *cobra.Command {
	sessions := groupCommand(&cobra.Command{Use: "sessions", Short: "List and revoke users' sign-in sessions (token families)"})
	var user string
	list := &cobra.Command{
		Use:   "list",
		Short: "List a user's sessions",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withEnv(cmd.Context(), func(e *env) error {
				u, err := e.store.UserByEmail(cmd.Context(), user)
				if err != nil {
					return userLookupError(err, user)
				}
				fams, err := e.store.Families(cmd.Context(), u.ID, e.cfg.Tokens.RefreshIdleTTL)
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "FAMILY\tCLIENT\tCREATED\tLAST REFRESHED\tEXPIRES\tSTATE")
				for _, f := range fams {
					state := "active"
					if f.RevokedAt != nil {
						state = "revoked (" + f.RevokedReason + ")"
					} else if time.Now().After(f.ExpiresAt) {
						state = "expired"
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", f.ID, f.ClientID, stamp(f.CreatedAt),
						stamp(f.LastRefreshedAt), stamp(f.ExpiresAt), state)
				}
				return tw.Flush()
			})
		},
	}
	list.Flags().StringVar(&user, "user", "", "the user's email (required)")
	_ = list.MarkFlagRequired("user")

	var revokeUser, family string
	revoke := &cobra.Command{
		Use:   "revoke",
		Short: "Revoke all of a user's sessions (--user) or one session (--family)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (revokeUser == "") == (family == "") {
				return errors.New("give exactly one of --user or --family")
			}
			return a.withEnv(cmd.Context(), func(e *env) error {
				if family != "" {
					found, err := e.store.RevokeFamily(cmd.Context(), family, reasonAdmin)
					if err != nil {
						return err
					}
					if !found {
						return fmt.Errorf("no session family %s", family)
					}
					fmt.Fprintf(a.stdout, "revoked family %s\n", family)
					return nil
				}
				u, err := e.store.UserByEmail(cmd.Context(), revokeUser)
				if err != nil {
					return userLookupError(err, revokeUser)
				}
				out, err := e.store.SignOutEverywhere(cmd.Context(), u.ID, reasonAdmin)
				if err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "revoked %d session(s) of %s; ended %d browser session(s) and %d BFF session(s)\n",
					out.Families, u.Email, out.BrowserSessions, out.BFFSessions)
				return nil
			})
		},
	}
	revoke.Flags().StringVar(&revokeUser, "user", "", "revoke every session of this user and end their browser and BFF sessions (sign out everywhere)")
	revoke.Flags().StringVar(&family, "family", "", "revoke this one session family")
	sessions.AddCommand(list, revoke)
	return sessions
}

// userLookupError reports a missing user as such and any other failure (a
// busy or broken database) as itself rather than as a missing user.
func userLookupError(err error, email string) error {
	if errors.Is(err, fosite.ErrNotFound) {
		return fmt.Errorf("no user with email %s", storage.NormalizeEmail(email))
	}
	return err
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }
