package httpapi

import (
	"context"

	"github.com/leadpilot/leadpilot/api"
	"github.com/leadpilot/leadpilot/api/server"
	"github.com/leadpilot/leadpilot/internal/notifications"
)

// ListNotifications implements GET /v1/notifications.
func (s *Server) ListNotifications(ctx context.Context, req server.ListNotificationsRequestObject) (server.ListNotificationsResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	page, err := notifications.ParsePage(req.Params.Limit, req.Params.Cursor)
	if err != nil {
		return nil, err
	}
	var f notifications.Filter
	if req.Params.Unread != nil {
		f.UnreadOnly = *req.Params.Unread
	}
	if req.Params.Type != nil {
		f.Type = string(*req.Params.Type)
	}
	rows, next, err := s.notifications.List(ctx, p.Actor(), f, page)
	if err != nil {
		return nil, err
	}
	return server.ListNotifications200JSONResponse(api.NotificationList{Data: mapAll(rows, notifications.Notification.Resource), NextCursor: next}), nil
}

// GetNotificationUnreadCount implements GET /v1/notifications/unread-count.
func (s *Server) GetNotificationUnreadCount(ctx context.Context, _ server.GetNotificationUnreadCountRequestObject) (server.GetNotificationUnreadCountResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	n, err := s.notifications.UnreadCount(ctx, p.Actor())
	if err != nil {
		return nil, err
	}
	return server.GetNotificationUnreadCount200JSONResponse(api.UnreadCount{Count: n}), nil
}

// MarkAllNotificationsRead implements POST /v1/notifications/read-all.
func (s *Server) MarkAllNotificationsRead(ctx context.Context, req server.MarkAllNotificationsReadRequestObject) (server.MarkAllNotificationsReadResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	var bound notifications.ReadAllBound
	if req.Params.UpToID != nil {
		bound.UpToID = *req.Params.UpToID
	}
	if req.Params.Until != nil {
		bound.Until = *req.Params.Until
	}
	n, err := s.notifications.MarkAllRead(ctx, p.Actor(), bound)
	if err != nil {
		return nil, err
	}
	return server.MarkAllNotificationsRead200JSONResponse(api.NotificationReadAllResult{Marked: n}), nil
}

// GetNotification implements GET /v1/notifications/{notification_id}.
func (s *Server) GetNotification(ctx context.Context, req server.GetNotificationRequestObject) (server.GetNotificationResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	n, err := s.notifications.Get(ctx, p.Actor(), req.NotificationID)
	if err != nil {
		return nil, err
	}
	return server.GetNotification200JSONResponse(n.Resource()), nil
}

// MarkNotificationRead implements POST /v1/notifications/{notification_id}/read.
func (s *Server) MarkNotificationRead(ctx context.Context, req server.MarkNotificationReadRequestObject) (server.MarkNotificationReadResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	n, err := s.notifications.MarkRead(ctx, p.Actor(), req.NotificationID)
	if err != nil {
		return nil, err
	}
	return server.MarkNotificationRead200JSONResponse(n.Resource()), nil
}

// MarkNotificationUnread implements POST /v1/notifications/{notification_id}/unread.
func (s *Server) MarkNotificationUnread(ctx context.Context, req server.MarkNotificationUnreadRequestObject) (server.MarkNotificationUnreadResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	n, err := s.notifications.MarkUnread(ctx, p.Actor(), req.NotificationID)
	if err != nil {
		return nil, err
	}
	return server.MarkNotificationUnread200JSONResponse(n.Resource()), nil
}

// GetNotificationPreferences implements GET /v1/me/notification-preferences.
func (s *Server) GetNotificationPreferences(ctx context.Context, _ server.GetNotificationPreferencesRequestObject) (server.GetNotificationPreferencesResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	prefs, err := s.notifications.Preferences(ctx, p.Actor())
	if err != nil {
		return nil, err
	}
	return server.GetNotificationPreferences200JSONResponse(toAPIPreferences(prefs)), nil
}

// UpdateNotificationPreferences implements PATCH /v1/me/notification-preferences.
func (s *Server) UpdateNotificationPreferences(ctx context.Context, req server.UpdateNotificationPreferencesRequestObject) (server.UpdateNotificationPreferencesResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	prefs, err := s.notifications.UpdatePreferences(ctx, p.Actor(), preferencesFromUpdate(*req.Body))
	if err != nil {
		return nil, err
	}
	return server.UpdateNotificationPreferences200JSONResponse(toAPIPreferences(prefs)), nil
}

func toAPIPreferences(m map[string]bool) api.NotificationPreferences {
	return api.NotificationPreferences{
		EmailReplies: m[notifications.PrefEmailReplies], WhatsappReplies: m[notifications.PrefWhatsAppReplies],
		SmsReplies: m[notifications.PrefSMSReplies], DailyDigest: m[notifications.PrefDailyDigest], BrowserPush: m[notifications.PrefBrowserPush],
	}
}

func preferencesFromUpdate(u api.NotificationPreferencesUpdate) map[string]bool {
	out := map[string]bool{}
	for k, v := range map[string]*bool{
		notifications.PrefEmailReplies: u.EmailReplies, notifications.PrefWhatsAppReplies: u.WhatsappReplies,
		notifications.PrefSMSReplies: u.SmsReplies, notifications.PrefDailyDigest: u.DailyDigest, notifications.PrefBrowserPush: u.BrowserPush,
	} {
		if v != nil {
			out[k] = *v
		}
	}
	return out
}
