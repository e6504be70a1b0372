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

func (a *app) auditCommand() *cobra.Command {
	audit := groupCommand(&cobra.Command{Use: "audit", Short: "Read the audit trail"})
	var user string
	var n int
	tail := &cobra.Command{
		Use:   "tail",
		Short: "Print the newest audit events (sign-ins, reuse, revocations, throttling)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if n < 1 || n > 10000 {
				return errors.New("-n must be between 1 and 10000")
			}
			return a.withEnv(cmd.Context(), func(e *env) error {
				subject := ""
				if user != "" {
					u, err := e.store.UserByEmail(cmd.Context(), user)
					if errors.Is(err, fosite.ErrNotFound) {
						return fmt.Errorf("no user with email %s", storage.NormalizeEmail(user))
					} else if err != nil {
						return err
					}
					subject = u.ID
				}
				events, err := e.store.AuditEvents(cmd.Context(), subject, user, n)
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
				// COUNT: events of unauthenticated requests are aggregated
				// per source and minute.
				fmt.Fprintln(tw, "TIME\tEVENT\tCOUNT\tUSER\tCLIENT\tFAMILY\tIP\tDETAIL")
				for _, ev := range events {
					who := ev.Email
					if who == "" {
						who = ev.Subject
					}
					fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\n", ev.Time.UTC().Format(time.RFC3339), ev.Type, ev.Count,
						dash(who), dash(ev.ClientID), dash(ev.FamilyID), dash(ev.IP), dash(ev.Detail))
				}
				return tw.Flush()
			})
		},
	}
	tail.Flags().StringVar(&user, "user", "", "only this user's events (email)")
	tail.Flags().IntVarP(&n, "n", "n", 50, "how many events")
	audit.AddCommand(tail)
	return audit
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
