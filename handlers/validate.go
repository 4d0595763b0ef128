package handlers

import (
	"net/mail"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/tenantry/tenantry"
)

var languageTag = regexp.MustCompile(`^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8}){0,3}$`)

// validateSubaccount checks the fields given; on create, external_id is
// required. Every problem is reported, each naming its field.
func validateSubaccount(f tenantry.SubaccountFields, create bool) error {
	var errs []tenantry.FieldError
	add := func(field, msg string) { errs = append(errs, tenantry.FieldError{Field: field, Message: msg}) }
	if create && (f.ExternalID == nil || strings.TrimSpace(*f.ExternalID) == "") {
		add("external_id", "is required")
	} else if f.ExternalID != nil {
		checkText(add, "external_id", *f.ExternalID, 255, true)
	}
	for field, v := range map[string]*string{"first_name": f.FirstName, "last_name": f.LastName, "company_name": f.CompanyName} {
		if v != nil {
			checkText(add, field, *v, 200, false)
		}
	}
	if f.Email != nil && *f.Email != "" && !validEmail(*f.Email) {
		add("email", "must be an email address such as ada@example.com")
	}
	if f.Language != nil && *f.Language != "" && !languageTag.MatchString(*f.Language) {
		add("language", "must be a language tag such as en or pt-BR")
	}
	if len(errs) == 0 {
		return nil
	}
	slices.SortFunc(errs, func(a, b tenantry.FieldError) int { return strings.Compare(a.Field, b.Field) })
	return tenantry.Invalid(errs...)
}

func checkText(add func(field, msg string), field, v string, max int, required bool) {
	switch {
	case required && strings.TrimSpace(v) == "":
		add(field, "must not be blank")
	case !utf8.ValidString(v):
		add(field, "must be valid UTF-8")
	case utf8.RuneCountInString(v) > max:
		add(field, "must be at most "+strconv.Itoa(max)+" characters")
	case strings.IndexFunc(v, unicode.IsControl) >= 0:
		add(field, "must not contain control characters")
	}
}

// validEmail reports whether s is a bare email address (no display name)
// of at most 254 bytes, the longest a mail path allows (RFC 5321).
func validEmail(s string) bool {
	if len(s) > 254 {
		return false
	}
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s
}
