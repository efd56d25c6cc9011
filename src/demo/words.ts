/**
 * Vocabulary for the demo data. Plain ASCII on purpose: names and text never
 * need escaping beyond COPY's own, and byte counts equal character counts.
 */

export const FIRST_NAMES = [
  'Ada', 'Alan', 'Amara', 'Bea', 'Boris', 'Carla', 'Chen', 'Dario', 'Dana', 'Elif',
  'Emil', 'Farah', 'Felix', 'Grace', 'Gus', 'Hana', 'Hugo', 'Ines', 'Ivan', 'Jonas',
  'Julia', 'Kai', 'Kemal', 'Lena', 'Liam', 'Maja', 'Mateo', 'Nadia', 'Nils', 'Olga',
  'Omar', 'Paula', 'Pavel', 'Quinn', 'Rosa', 'Rui', 'Sofia', 'Sven', 'Tara', 'Theo',
  'Uma', 'Victor', 'Wen', 'Xavier', 'Yara', 'Yusuf', 'Zoe', 'Zoran',
] as const;

export const LAST_NAMES = [
  'Alvarez', 'Bauer', 'Becker', 'Costa', 'Dubois', 'Eriksen', 'Fischer', 'Garcia', 'Hansen', 'Ivanova',
  'Jansen', 'Kaya', 'Kowalski', 'Larsen', 'Lopez', 'Martin', 'Meyer', 'Moreau', 'Nakamura', 'Novak',
  'Okafor', 'Petrov', 'Rossi', 'Schmidt', 'Silva', 'Smith', 'Tanaka', 'Varga', 'Weber', 'Yilmaz',
] as const;

export const COMPANY_WORDS = [
  'Northwind', 'Bluefin', 'Copperleaf', 'Driftwood', 'Evergreen', 'Foxglove', 'Granite', 'Harbor',
  'Ironbark', 'Juniper', 'Kestrel', 'Lumen', 'Meridian', 'Nimbus', 'Orchard', 'Pinecrest',
  'Quarry', 'Redwood', 'Saltmarsh', 'Tidewater', 'Umber', 'Vantage', 'Willow', 'Zephyr',
] as const;

export const COMPANY_KINDS = [
  'Analytics', 'Logistics', 'Health', 'Robotics', 'Media', 'Labs', 'Energy', 'Foods', 'Capital', 'Systems',
] as const;

export const STREETS = [
  'High Street', 'Station Road', 'Main Street', 'Church Lane', 'Mill Road', 'Park Avenue',
  'Hauptstrasse', 'Rue de la Paix', 'Calle Mayor', 'Via Roma', 'Kings Road', 'Harbour Walk',
] as const;

export const CITIES = [
  'London 2AB', 'Berlin 10115', 'Paris 75001', 'Madrid 28013', 'Rome 00184', 'Dublin D02',
  'Amsterdam 1012', 'Lisbon 1100', 'Vienna 1010', 'Warsaw 00-001', 'Oslo 0150', 'Prague 110 00',
] as const;

export const CURRENCIES = ['EUR', 'EUR', 'EUR', 'USD', 'USD', 'GBP', 'CHF'] as const;

/** Words for titles, bodies and comments: office prose, roughly Zipf-ordered. */
export const WORDS = [
  'the', 'of', 'and', 'to', 'a', 'in', 'for', 'is', 'on', 'that', 'with', 'we', 'this', 'as', 'be',
  'team', 'project', 'customer', 'release', 'plan', 'data', 'review', 'design', 'quarter', 'budget',
  'roadmap', 'launch', 'feedback', 'metrics', 'pipeline', 'contract', 'invoice', 'support', 'service',
  'migration', 'security', 'policy', 'deadline', 'meeting', 'notes', 'draft', 'approval', 'vendor',
  'pricing', 'onboarding', 'retention', 'growth', 'incident', 'postmortem', 'backlog', 'sprint',
  'estimate', 'risk', 'scope', 'milestone', 'dashboard', 'report', 'analysis', 'summary', 'proposal',
  'should', 'will', 'can', 'need', 'agreed', 'updated', 'shared', 'moved', 'blocked', 'shipped',
  'next', 'last', 'new', 'final', 'weekly', 'internal', 'external', 'critical', 'minor', 'open',
] as const;

export const PROJECT_KINDS = [
  'Website', 'Mobile App', 'Data Platform', 'Billing', 'Onboarding', 'Brand Refresh', 'Compliance',
  'Hiring', 'Partner Program', 'Infrastructure', 'Support Desk', 'Annual Report',
] as const;

export const DOCUMENT_STATUSES = ['draft', 'in_review', 'approved', 'archived'] as const;

export const AUDIT_ACTIONS = [
  'user.login', 'user.login', 'user.login', 'user.logout', 'document.view', 'document.view',
  'document.update', 'document.create', 'comment.create', 'project.update', 'invoice.issue',
  'user.invite', 'settings.change', 'api_key.rotate', 'export.download',
] as const;

export const USER_AGENTS = ['Chrome/131', 'Firefox/133', 'Safari/18', 'Edge/131', 'okhttp/4.12', 'curl/8.5'] as const;
