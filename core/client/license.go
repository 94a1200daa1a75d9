package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"time"
)

// License is a license in the 10Duke shape, with live counts.
type License struct {
	ID               string       `json:"id"`
	Owner            string       `json:"owner,omitempty"`
	ValidFrom        *time.Time   `json:"validFrom"` // the span of its credits; nil when it has none
	ValidUntil       *time.Time   `json:"validUntil"`
	Active           bool         `json:"active"` // some credit is valid now
	EntitlementID    string       `json:"entitlementId,omitempty"`
	LicensedItem     LicensedItem `json:"licensedItem"`
	LicenseModelID   string       `json:"licenseModelId,omitempty"`
	LicenseModelName string       `json:"licenseModelName,omitempty"`
	UseCountConsumed int64        `json:"useCountConsumed"`
	UseCountTotal    int64        `json:"useCountTotal"`
	UseCountCredits  []Credit     `json:"useCountCredits"`
}

// LicensedItem is what a license grants, as 10Duke shows it: {"id", "name", "displayName"}.
// Name is what ConsumeRequest.Item names.
type LicensedItem struct {
	ID          string `json:"id,omitempty"`
	Name        string `json:"name"`
	DisplayName string `json:"displayName,omitempty"`
}

// UnmarshalJSON reads the object, and also a bare string, which agents built before the
// object shape send: it is the item's name.
func (it *LicensedItem) UnmarshalJSON(b []byte) error {
	var name string
	if json.Unmarshal(b, &name) == nil {
		*it = LicensedItem{Name: name}
		return nil
	}
	type object LicensedItem // without this method
	return json.Unmarshal(b, (*object)(it))
}

// Credit is one use-count credit of a license: a use count valid in [ValidFrom, ValidUntil).
type Credit struct {
	ID                       string     `json:"id"`
	ValidFrom                *time.Time `json:"validFrom"`
	ValidUntil               *time.Time `json:"validUntil"` // nil: no end
	Active                   bool       `json:"active"`
	LicenseID                string     `json:"licenseId"`
	LicenseTransactionItemID string     `json:"licenseTransactionItemId"`
	UseCount                 int64      `json:"useCount"`
	CountUsed                int64      `json:"countUsed"`
}

// License reads one license (GET /v1/licenses/{id}); ErrNotFound when there is none.
func (c *Client) License(ctx context.Context, id string) (License, error) {
	var l License
	err := c.do(ctx, &call{method: http.MethodGet, path: "/v1/licenses/" + url.PathEscape(id), replayable: true}, &l)
	return l, err
}

// OwnerLicenses lists an owner's licenses ("organizations/<id>" or "users/<id>"), with the
// admin token; an owner with none gets an empty, non-nil list.
func (c *Client) OwnerLicenses(ctx context.Context, owner string) ([]License, error) {
	var out struct {
		Licenses []License `json:"licenses"`
	}
	err := c.do(ctx, &call{method: http.MethodGet, path: "/" + owner + "/licenses", admin: true, replayable: true}, &out)
	return out.Licenses, err
}
