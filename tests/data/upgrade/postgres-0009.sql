--
-- PostgreSQL database dump
--

\restrict 2RdK3alPhWzteAnmh1VzYBnr8tKRjCI4GPbbcWtlqTfDNJgCjGVWcby5un3E0Rg

-- Dumped from database version 15.18 (Debian 15.18-0+deb12u1)
-- Dumped by pg_dump version 15.18 (Debian 15.18-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: access_refusals; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.access_refusals (
    id integer NOT NULL,
    source character varying(64) NOT NULL,
    minute timestamp with time zone NOT NULL,
    count integer NOT NULL,
    last_path character varying(200) NOT NULL
);


--
-- Name: access_refusals_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.access_refusals_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: access_refusals_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.access_refusals_id_seq OWNED BY public.access_refusals.id;


--
-- Name: acme_accounts; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.acme_accounts (
    id integer NOT NULL,
    name character varying(100) NOT NULL,
    directory_url character varying(500) NOT NULL,
    contact_email character varying(254) NOT NULL,
    account_url character varying(500) NOT NULL,
    sealed_key bytea NOT NULL,
    eab_kid character varying(200) NOT NULL,
    ca_bundle_pem text NOT NULL,
    profile character varying(100) NOT NULL,
    challenge character varying(20) NOT NULL,
    dns json NOT NULL,
    sealed_dns_secret bytea,
    status character varying(20) NOT NULL,
    created_at timestamp with time zone NOT NULL
);


--
-- Name: acme_accounts_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.acme_accounts_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: acme_accounts_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.acme_accounts_id_seq OWNED BY public.acme_accounts.id;


--
-- Name: acme_challenges; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.acme_challenges (
    token character varying(200) NOT NULL,
    key_authorization character varying(400) NOT NULL,
    domain character varying(255) NOT NULL,
    created_at timestamp with time zone NOT NULL
);


--
-- Name: agent_nonces; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.agent_nonces (
    agent_id integer NOT NULL,
    nonce character varying(64) NOT NULL,
    at timestamp with time zone NOT NULL
);


--
-- Name: agent_work; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.agent_work (
    id integer NOT NULL,
    agent_id integer NOT NULL,
    kind character varying(10) NOT NULL,
    deployment_id integer,
    request_id integer,
    sequence integer NOT NULL,
    blob bytea,
    spec json NOT NULL,
    state character varying(10) NOT NULL,
    created_at timestamp with time zone NOT NULL,
    delivered_at timestamp with time zone,
    done_at timestamp with time zone
);


--
-- Name: agent_work_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.agent_work_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: agent_work_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.agent_work_id_seq OWNED BY public.agent_work.id;


--
-- Name: agents; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.agents (
    id integer NOT NULL,
    name character varying(200) NOT NULL,
    hostname character varying(255) NOT NULL,
    version character varying(50) NOT NULL,
    x25519_public bytea NOT NULL,
    ed25519_public bytea NOT NULL,
    status character varying(20) NOT NULL,
    enrolled_at timestamp with time zone NOT NULL,
    last_seen_at timestamp with time zone,
    targets json NOT NULL
);


--
-- Name: agents_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.agents_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: agents_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.agents_id_seq OWNED BY public.agents.id;


--
-- Name: alembic_version; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.alembic_version (
    version_num character varying(32) NOT NULL
);


--
-- Name: api_tokens; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.api_tokens (
    id integer NOT NULL,
    user_id integer NOT NULL,
    name character varying(100) NOT NULL,
    token_sha256 character varying(64) NOT NULL,
    prefix character varying(16) NOT NULL,
    created_at timestamp with time zone NOT NULL,
    expires_at timestamp with time zone,
    last_used_at timestamp with time zone,
    revoked boolean NOT NULL
);


--
-- Name: api_tokens_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.api_tokens_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: api_tokens_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.api_tokens_id_seq OWNED BY public.api_tokens.id;


--
-- Name: audit_events; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.audit_events (
    id integer NOT NULL,
    at timestamp with time zone NOT NULL,
    actor character varying(200) NOT NULL,
    source character varying(100) NOT NULL,
    action character varying(100) NOT NULL,
    entity_type character varying(50) NOT NULL,
    entity_id character varying(100) NOT NULL,
    detail json NOT NULL
);


--
-- Name: audit_events_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.audit_events_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: audit_events_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.audit_events_id_seq OWNED BY public.audit_events.id;


--
-- Name: certificate_authorities; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.certificate_authorities (
    id integer NOT NULL,
    name character varying(200) NOT NULL,
    kind character varying(20) NOT NULL,
    status character varying(20) NOT NULL,
    subject character varying(2000) NOT NULL,
    key_type character varying(30) NOT NULL,
    sealed_key bytea NOT NULL,
    certificate_id integer,
    csr_pem text NOT NULL,
    crl_number integer NOT NULL,
    created_at timestamp with time zone NOT NULL
);


--
-- Name: certificate_authorities_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.certificate_authorities_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: certificate_authorities_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.certificate_authorities_id_seq OWNED BY public.certificate_authorities.id;


--
-- Name: certificate_chain; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.certificate_chain (
    certificate_id integer NOT NULL,
    "position" integer NOT NULL,
    ca_certificate_id integer NOT NULL
);


--
-- Name: certificate_definitions; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.certificate_definitions (
    id integer NOT NULL,
    name character varying(200) NOT NULL,
    common_name character varying(500) NOT NULL,
    organization character varying(200) NOT NULL,
    organizational_unit character varying(200) NOT NULL,
    locality character varying(200) NOT NULL,
    state character varying(200) NOT NULL,
    country character varying(2) NOT NULL,
    sans json NOT NULL,
    key_type character varying(30) NOT NULL,
    issuer_kind character varying(20) NOT NULL,
    requirements json NOT NULL,
    product_id character varying(100),
    acme_account_id integer,
    requestor character varying(200) NOT NULL,
    renewal_policy json NOT NULL,
    notes text NOT NULL,
    current_certificate_id integer,
    archived boolean NOT NULL,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    auto_deploy boolean DEFAULT true NOT NULL,
    vendor_account_id integer,
    held_certificate_id integer,
    switch_at timestamp with time zone
);


--
-- Name: certificate_definitions_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.certificate_definitions_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: certificate_definitions_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.certificate_definitions_id_seq OWNED BY public.certificate_definitions.id;


--
-- Name: certificate_requests; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.certificate_requests (
    id integer NOT NULL,
    definition_id integer NOT NULL,
    kind character varying(10) NOT NULL,
    status character varying(30) NOT NULL,
    issuer_kind character varying(20) NOT NULL,
    private_key_id integer,
    csr_pem text NOT NULL,
    product_id character varying(100),
    vendor_account_id integer,
    order_date timestamp with time zone,
    order_number character varying(200) NOT NULL,
    tracking_notes text NOT NULL,
    certificate_id integer,
    replaces_certificate_id integer,
    last_error text NOT NULL,
    attempts integer NOT NULL,
    next_attempt_at timestamp with time zone,
    created_by character varying(100) NOT NULL,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    acme_account_id integer,
    acme_order_url character varying(500) DEFAULT ''::character varying NOT NULL,
    key_on_agent boolean DEFAULT false NOT NULL,
    extra json DEFAULT '{}'::json NOT NULL
);


--
-- Name: certificate_requests_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.certificate_requests_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: certificate_requests_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.certificate_requests_id_seq OWNED BY public.certificate_requests.id;


--
-- Name: certificates; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.certificates (
    id integer NOT NULL,
    definition_id integer,
    private_key_id integer,
    der bytea NOT NULL,
    sha256 character varying(64) NOT NULL,
    sha1 character varying(40) NOT NULL,
    public_key_sha256 character varying(64) NOT NULL,
    serial_hex character varying(64) NOT NULL,
    subject character varying(2000) NOT NULL,
    common_name character varying(500) NOT NULL,
    issuer character varying(2000) NOT NULL,
    sans json NOT NULL,
    not_before timestamp with time zone NOT NULL,
    not_after timestamp with time zone NOT NULL,
    key_label character varying(30) NOT NULL,
    is_ca boolean NOT NULL,
    self_signed boolean NOT NULL,
    source character varying(20) NOT NULL,
    created_at timestamp with time zone NOT NULL,
    signature_problem character varying(500)
);


--
-- Name: certificates_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.certificates_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: certificates_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.certificates_id_seq OWNED BY public.certificates.id;


--
-- Name: check_challenges; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.check_challenges (
    id integer NOT NULL,
    deployment_id integer NOT NULL,
    nonce character varying(64) NOT NULL,
    issued_by character varying(100) NOT NULL,
    issued_at timestamp with time zone NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    used_at timestamp with time zone,
    used_by character varying(100) NOT NULL,
    check_result_id integer
);


--
-- Name: check_challenges_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.check_challenges_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: check_challenges_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.check_challenges_id_seq OWNED BY public.check_challenges.id;


--
-- Name: check_results; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.check_results (
    id integer NOT NULL,
    deployment_id integer NOT NULL,
    at timestamp with time zone NOT NULL,
    source character varying(20) NOT NULL,
    ok boolean NOT NULL,
    reachable boolean NOT NULL,
    served_sha256 character varying(64) NOT NULL,
    matches_current boolean NOT NULL,
    chain_complete boolean NOT NULL,
    chain_in_order boolean NOT NULL,
    hostname_matches boolean NOT NULL,
    days_left integer,
    error text NOT NULL,
    detail json NOT NULL
);


--
-- Name: check_results_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.check_results_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: check_results_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.check_results_id_seq OWNED BY public.check_results.id;


--
-- Name: console_sessions; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.console_sessions (
    id integer NOT NULL,
    id_sha256 character varying(64) NOT NULL,
    user_id integer NOT NULL,
    address character varying(64) NOT NULL,
    created_at timestamp with time zone NOT NULL,
    last_seen_at timestamp with time zone NOT NULL,
    revoked_at timestamp with time zone
);


--
-- Name: console_sessions_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.console_sessions_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: console_sessions_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.console_sessions_id_seq OWNED BY public.console_sessions.id;


--
-- Name: deployment_events; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.deployment_events (
    id integer NOT NULL,
    deployment_id integer NOT NULL,
    at timestamp with time zone NOT NULL,
    actor character varying(100) NOT NULL,
    event character varying(50) NOT NULL,
    message text NOT NULL,
    detail json NOT NULL
);


--
-- Name: deployment_events_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.deployment_events_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: deployment_events_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.deployment_events_id_seq OWNED BY public.deployment_events.id;


--
-- Name: deployments; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.deployments (
    id integer NOT NULL,
    definition_id integer NOT NULL,
    name character varying(200) NOT NULL,
    common_name character varying(500) NOT NULL,
    server_name character varying(255) NOT NULL,
    check_host character varying(255) NOT NULL,
    check_port integer NOT NULL,
    sni character varying(255) NOT NULL,
    starttls character varying(10) NOT NULL,
    target_type character varying(30) NOT NULL,
    target_params json NOT NULL,
    delivery character varying(20) NOT NULL,
    admin_email character varying(254) NOT NULL,
    monitoring boolean NOT NULL,
    status character varying(30) NOT NULL,
    certificate_id integer,
    agent_id integer,
    sequence integer NOT NULL,
    notes text NOT NULL,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    production boolean DEFAULT true NOT NULL,
    sealed_receipt_key bytea,
    receipt_used boolean DEFAULT false NOT NULL,
    last_check_id integer,
    consecutive_failures integer DEFAULT 0 NOT NULL
);


--
-- Name: deployments_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.deployments_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: deployments_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.deployments_id_seq OWNED BY public.deployments.id;


--
-- Name: documents; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.documents (
    id integer NOT NULL,
    definition_id integer NOT NULL,
    filename character varying(255) NOT NULL,
    stored_name character varying(100) NOT NULL,
    content_type character varying(100) NOT NULL,
    size integer NOT NULL,
    sha256 character varying(64) NOT NULL,
    kind character varying(30) NOT NULL,
    uploaded_by character varying(100) NOT NULL,
    created_at timestamp with time zone NOT NULL,
    owner_user_id integer
);


--
-- Name: documents_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.documents_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: documents_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.documents_id_seq OWNED BY public.documents.id;


--
-- Name: download_links; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.download_links (
    id integer NOT NULL,
    token_sha256 character varying(64) NOT NULL,
    document_id integer NOT NULL,
    deployment_id integer,
    expires_at timestamp with time zone NOT NULL,
    downloads integer NOT NULL,
    created_at timestamp with time zone NOT NULL
);


--
-- Name: download_links_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.download_links_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: download_links_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.download_links_id_seq OWNED BY public.download_links.id;


--
-- Name: enrollment_tokens; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.enrollment_tokens (
    id integer NOT NULL,
    secret_sha256 character varying(64) NOT NULL,
    name_hint character varying(200) NOT NULL,
    auto_approve boolean NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    used_at timestamp with time zone,
    agent_id integer,
    created_by character varying(100) NOT NULL,
    created_at timestamp with time zone NOT NULL
);


--
-- Name: enrollment_tokens_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.enrollment_tokens_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: enrollment_tokens_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.enrollment_tokens_id_seq OWNED BY public.enrollment_tokens.id;


--
-- Name: findings; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.findings (
    id integer NOT NULL,
    kind character varying(30) NOT NULL,
    key character varying(200) NOT NULL,
    definition_id integer,
    deployment_id integer,
    severity character varying(10) NOT NULL,
    message text NOT NULL,
    state character varying(10) NOT NULL,
    opened_at timestamp with time zone NOT NULL,
    cleared_at timestamp with time zone,
    digested_open boolean NOT NULL,
    digested_clear boolean NOT NULL,
    notified boolean NOT NULL
);


--
-- Name: findings_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.findings_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: findings_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.findings_id_seq OWNED BY public.findings.id;


--
-- Name: job_leases; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.job_leases (
    name character varying(50) NOT NULL,
    holder character varying(100) NOT NULL,
    lease_until timestamp with time zone,
    next_run_at timestamp with time zone,
    last_started_at timestamp with time zone,
    last_finished_at timestamp with time zone,
    last_result character varying(20) NOT NULL,
    last_error text NOT NULL,
    last_duration_ms integer NOT NULL,
    runs integer NOT NULL,
    failures integer NOT NULL,
    progress json NOT NULL
);


--
-- Name: outbox; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.outbox (
    id integer NOT NULL,
    channel character varying(10) NOT NULL,
    target character varying(1000) NOT NULL,
    subject character varying(500) NOT NULL,
    body text NOT NULL,
    kind character varying(40) NOT NULL,
    state character varying(10) NOT NULL,
    attempts integer NOT NULL,
    next_attempt_at timestamp with time zone NOT NULL,
    last_error text NOT NULL,
    created_at timestamp with time zone NOT NULL,
    webhook_id integer,
    sent_email_id integer
);


--
-- Name: outbox_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.outbox_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: outbox_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.outbox_id_seq OWNED BY public.outbox.id;


--
-- Name: private_keys; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.private_keys (
    id integer NOT NULL,
    algorithm character varying(20) NOT NULL,
    size integer NOT NULL,
    key_type character varying(30) NOT NULL,
    public_sha256 character varying(64) NOT NULL,
    origin character varying(30) NOT NULL,
    sealed_pkcs8 bytea,
    created_at timestamp with time zone NOT NULL
);


--
-- Name: private_keys_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.private_keys_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: private_keys_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.private_keys_id_seq OWNED BY public.private_keys.id;


--
-- Name: request_events; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.request_events (
    id integer NOT NULL,
    request_id integer NOT NULL,
    at timestamp with time zone NOT NULL,
    actor character varying(100) NOT NULL,
    event character varying(50) NOT NULL,
    message text NOT NULL,
    detail json NOT NULL
);


--
-- Name: request_events_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.request_events_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: request_events_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.request_events_id_seq OWNED BY public.request_events.id;


--
-- Name: revocations; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.revocations (
    id integer NOT NULL,
    ca_id integer NOT NULL,
    serial_hex character varying(64) NOT NULL,
    certificate_id integer,
    reason character varying(40) NOT NULL,
    revoked_at timestamp with time zone NOT NULL,
    revoked_by character varying(100) NOT NULL
);


--
-- Name: revocations_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.revocations_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: revocations_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.revocations_id_seq OWNED BY public.revocations.id;


--
-- Name: sent_emails; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.sent_emails (
    id integer NOT NULL,
    at timestamp with time zone NOT NULL,
    kind character varying(40) NOT NULL,
    "to" character varying(1000) NOT NULL,
    subject character varying(500) NOT NULL,
    body text NOT NULL,
    result character varying(20) NOT NULL,
    error text NOT NULL,
    entity_type character varying(50) NOT NULL,
    entity_id character varying(100) NOT NULL,
    attempts integer NOT NULL
);


--
-- Name: sent_emails_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.sent_emails_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: sent_emails_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.sent_emails_id_seq OWNED BY public.sent_emails.id;


--
-- Name: settings; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.settings (
    key character varying(100) NOT NULL,
    value json NOT NULL,
    sealed bytea,
    updated_at timestamp with time zone NOT NULL,
    updated_by character varying(100) NOT NULL
);


--
-- Name: sign_in_throttle; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.sign_in_throttle (
    id integer NOT NULL,
    address character varying(64) NOT NULL,
    username character varying(100) NOT NULL,
    failures integer NOT NULL,
    last_failure_at timestamp with time zone NOT NULL
);


--
-- Name: sign_in_throttle_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.sign_in_throttle_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: sign_in_throttle_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.sign_in_throttle_id_seq OWNED BY public.sign_in_throttle.id;


--
-- Name: users; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.users (
    id integer NOT NULL,
    username character varying(100) NOT NULL,
    email character varying(254) NOT NULL,
    role character varying(20) NOT NULL,
    password_hash character varying(200) NOT NULL,
    must_change_password boolean NOT NULL,
    disabled boolean NOT NULL,
    created_at timestamp with time zone NOT NULL,
    password_changed_at timestamp with time zone,
    last_login_at timestamp with time zone
);


--
-- Name: users_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.users_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: users_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.users_id_seq OWNED BY public.users.id;


--
-- Name: vendor_accounts; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.vendor_accounts (
    id integer NOT NULL,
    name character varying(100) NOT NULL,
    vendors json NOT NULL,
    login_name character varying(200) NOT NULL,
    sealed_password bytea,
    registered_email character varying(254) NOT NULL,
    notes text NOT NULL,
    created_at timestamp with time zone NOT NULL
);


--
-- Name: vendor_accounts_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.vendor_accounts_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: vendor_accounts_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.vendor_accounts_id_seq OWNED BY public.vendor_accounts.id;


--
-- Name: webhooks; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.webhooks (
    id integer NOT NULL,
    url character varying(1000) NOT NULL,
    sealed_secret bytea NOT NULL,
    events json NOT NULL,
    enabled boolean NOT NULL,
    created_at timestamp with time zone NOT NULL
);


--
-- Name: webhooks_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.webhooks_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: webhooks_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.webhooks_id_seq OWNED BY public.webhooks.id;


--
-- Name: access_refusals id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.access_refusals ALTER COLUMN id SET DEFAULT nextval('public.access_refusals_id_seq'::regclass);


--
-- Name: acme_accounts id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.acme_accounts ALTER COLUMN id SET DEFAULT nextval('public.acme_accounts_id_seq'::regclass);


--
-- Name: agent_work id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.agent_work ALTER COLUMN id SET DEFAULT nextval('public.agent_work_id_seq'::regclass);


--
-- Name: agents id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.agents ALTER COLUMN id SET DEFAULT nextval('public.agents_id_seq'::regclass);


--
-- Name: api_tokens id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.api_tokens ALTER COLUMN id SET DEFAULT nextval('public.api_tokens_id_seq'::regclass);


--
-- Name: audit_events id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.audit_events ALTER COLUMN id SET DEFAULT nextval('public.audit_events_id_seq'::regclass);


--
-- Name: certificate_authorities id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.certificate_authorities ALTER COLUMN id SET DEFAULT nextval('public.certificate_authorities_id_seq'::regclass);


--
-- Name: certificate_definitions id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.certificate_definitions ALTER COLUMN id SET DEFAULT nextval('public.certificate_definitions_id_seq'::regclass);


--
-- Name: certificate_requests id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.certificate_requests ALTER COLUMN id SET DEFAULT nextval('public.certificate_requests_id_seq'::regclass);


--
-- Name: certificates id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.certificates ALTER COLUMN id SET DEFAULT nextval('public.certificates_id_seq'::regclass);


--
-- Name: check_challenges id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.check_challenges ALTER COLUMN id SET DEFAULT nextval('public.check_challenges_id_seq'::regclass);


--
-- Name: check_results id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.check_results ALTER COLUMN id SET DEFAULT nextval('public.check_results_id_seq'::regclass);


--
-- Name: console_sessions id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.console_sessions ALTER COLUMN id SET DEFAULT nextval('public.console_sessions_id_seq'::regclass);


--
-- Name: deployment_events id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.deployment_events ALTER COLUMN id SET DEFAULT nextval('public.deployment_events_id_seq'::regclass);


--
-- Name: deployments id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.deployments ALTER COLUMN id SET DEFAULT nextval('public.deployments_id_seq'::regclass);


--
-- Name: documents id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.documents ALTER COLUMN id SET DEFAULT nextval('public.documents_id_seq'::regclass);


--
-- Name: download_links id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.download_links ALTER COLUMN id SET DEFAULT nextval('public.download_links_id_seq'::regclass);


--
-- Name: enrollment_tokens id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.enrollment_tokens ALTER COLUMN id SET DEFAULT nextval('public.enrollment_tokens_id_seq'::regclass);


--
-- Name: findings id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.findings ALTER COLUMN id SET DEFAULT nextval('public.findings_id_seq'::regclass);


--
-- Name: outbox id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.outbox ALTER COLUMN id SET DEFAULT nextval('public.outbox_id_seq'::regclass);


--
-- Name: private_keys id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.private_keys ALTER COLUMN id SET DEFAULT nextval('public.private_keys_id_seq'::regclass);


--
-- Name: request_events id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.request_events ALTER COLUMN id SET DEFAULT nextval('public.request_events_id_seq'::regclass);


--
-- Name: revocations id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.revocations ALTER COLUMN id SET DEFAULT nextval('public.revocations_id_seq'::regclass);


--
-- Name: sent_emails id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.sent_emails ALTER COLUMN id SET DEFAULT nextval('public.sent_emails_id_seq'::regclass);


--
-- Name: sign_in_throttle id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.sign_in_throttle ALTER COLUMN id SET DEFAULT nextval('public.sign_in_throttle_id_seq'::regclass);


--
-- Name: users id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.users ALTER COLUMN id SET DEFAULT nextval('public.users_id_seq'::regclass);


--
-- Name: vendor_accounts id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.vendor_accounts ALTER COLUMN id SET DEFAULT nextval('public.vendor_accounts_id_seq'::regclass);


--
-- Name: webhooks id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.webhooks ALTER COLUMN id SET DEFAULT nextval('public.webhooks_id_seq'::regclass);


--
-- Data for Name: access_refusals; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.access_refusals (id, source, minute, count, last_path) FROM stdin;
\.


--
-- Data for Name: acme_accounts; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.acme_accounts (id, name, directory_url, contact_email, account_url, sealed_key, eab_kid, ca_bundle_pem, profile, challenge, dns, sealed_dns_secret, status, created_at) FROM stdin;
\.


--
-- Data for Name: acme_challenges; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.acme_challenges (token, key_authorization, domain, created_at) FROM stdin;
\.


--
-- Data for Name: agent_nonces; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.agent_nonces (agent_id, nonce, at) FROM stdin;
\.


--
-- Data for Name: agent_work; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.agent_work (id, agent_id, kind, deployment_id, request_id, sequence, blob, spec, state, created_at, delivered_at, done_at) FROM stdin;
\.


--
-- Data for Name: agents; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.agents (id, name, hostname, version, x25519_public, ed25519_public, status, enrolled_at, last_seen_at, targets) FROM stdin;
\.


--
-- Data for Name: alembic_version; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.alembic_version (version_num) FROM stdin;
0011
\.


--
-- Data for Name: api_tokens; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.api_tokens (id, user_id, name, token_sha256, prefix, created_at, expires_at, last_used_at, revoked) FROM stdin;
\.


--
-- Data for Name: audit_events; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.audit_events (id, at, actor, source, action, entity_type, entity_id, detail) FROM stdin;
1	2026-12-04 21:54:22.609663+00	cli:root	cli	ca.setup	ca	1	{"kind": "root", "subject": "O=certmgr,CN=certmgr Private Root CA 20261204-215422", "sha256": "257c773f08d5d5cdfe60c1c87195edc921e1ab446aeeb1e932052772d2dec304"}
2	2026-12-04 21:54:22.632702+00	cli:root	cli	ca.crl	ca	1	{"crl_number": 1, "revoked": 0}
3	2026-12-04 21:54:22.905838+00	cli:root	cli	user.create	user	1	{"username": "admin", "role": "admin"}
4	2026-12-04 21:54:22.93378+00	cli:root	cli	definition.create	definition	1	{"name": "certmgr console"}
5	2026-12-04 21:54:22.935847+00	cli:root	cli	ca.issue	certificate	2	{"definition": "certmgr console", "sha256": "9937e6fdbeae93ff9860164dba5b7421b1b5f4d0f8f33bdde8b14de9f8c252f4", "serial": "45ddfd03c1fd46883a85245db993b56bb1850b36"}
6	2026-12-04 21:54:23.10054+00	cli:root	cli	certificate.import	certificate	3	{"sha256": "d14dd139b4a0ebad212f273e577f7e4c80865f32c140bcaaea3a512ce16df5eb", "ca": true, "file": "fullchainA.pem"}
7	2026-12-04 21:54:23.085432+00	cli:root	cli	certificate.import	certificate	4	{"sha256": "c64514f280affb4fd82b97a34ae0224129441cd0e89b6bf700972957015b40e0", "definition": "web", "file": "fullchainA.pem", "key": true, "current": true, "signature_verified": true, "accept_unverified": false}
8	2026-12-04 21:54:23.217426+00	cli:root	cli	definition.create	definition	3	{"name": "intranet"}
9	2026-12-04 21:54:23.318492+00	cli:root	cli	request.create	request	1	{"definition": "intranet", "kind": "new"}
10	2026-12-04 21:54:23.318641+00	cli:root	cli	request.create	definition	3	{"request": 1, "kind": "new"}
11	2026-12-04 21:54:23.334096+00	cli:root	cli	request.key-and-csr	request	1	{"from": "draft"}
12	2026-12-04 21:54:23.347696+00	cli:root	cli	ca.issue	certificate	5	{"definition": "intranet", "sha256": "06c9a8489bd58baf30820d670667332b3e7130c6454ee31600ff781d111b1404", "serial": "60ce8a81d9d4872562ffb0e50a57bc95ebb62591"}
13	2026-12-04 21:54:23.406225+00	cli:root	cli	request.received	request	1	{"from": "key-and-csr", "certificate": 5}
14	2026-12-04 21:54:23.406332+00	cli:root	cli	definition.switch-current	definition	3	{"from": null, "to": 5, "sha256": "06c9a8489bd58baf30820d670667332b3e7130c6454ee31600ff781d111b1404"}
15	2026-12-04 21:54:23.406487+00	cli:root	cli	request.current-switched	request	1	{"from": "received"}
16	2026-12-04 21:54:23.406596+00	cli:root	cli	request.done	request	1	{"from": "current-switched"}
17	2026-12-04 21:54:23.508723+00	cli:root	cli	definition.create	definition	4	{"name": "mail"}
18	2026-12-04 21:54:23.860617+00	cli:root	cli	request.create	request	2	{"definition": "mail", "kind": "new"}
19	2026-12-04 21:54:23.860689+00	cli:root	cli	request.create	definition	4	{"request": 2, "kind": "new"}
20	2026-12-04 21:54:23.879164+00	cli:root	cli	request.key-and-csr	request	2	{"from": "draft"}
21	2026-12-04 21:54:23.892736+00	cli:root	cli	ca.issue	certificate	6	{"definition": "mail", "sha256": "3bb39cf3130051d5170be7c9732ea8bf0b75bb8e42536b616802acc6ec3e8185", "serial": "4338ecd78a55bd7ffa2ef19e15e148645998d20c"}
22	2026-12-04 21:54:23.956043+00	cli:root	cli	request.received	request	2	{"from": "key-and-csr", "certificate": 6}
23	2026-12-04 21:54:23.956123+00	cli:root	cli	definition.switch-current	definition	4	{"from": null, "to": 6, "sha256": "3bb39cf3130051d5170be7c9732ea8bf0b75bb8e42536b616802acc6ec3e8185"}
24	2026-12-04 21:54:23.956237+00	cli:root	cli	request.current-switched	request	2	{"from": "received"}
25	2026-12-04 21:54:23.956369+00	cli:root	cli	request.done	request	2	{"from": "current-switched"}
26	2026-12-04 21:54:24.079439+00	cli:root	cli	deployment.create	deployment	1	{"definition": "intranet", "server": "intranet.example.test"}
27	2026-12-04 21:54:24.079518+00	cli:root	cli	deployment.create	definition	3	{"deployment": 1, "server": "intranet.example.test"}
28	2026-12-04 21:54:24.423056+00	cli:root	cli	user.create	user	2	{"username": "operator", "role": "user"}
29	2026-12-04 21:54:24.66117+00	cli:root	cli	agent.token-create	enrollment-token	1	{"expires": "2026-12-05T21:54:24.655994+00:00", "name": "web01"}
30	2026-12-04 21:54:24.694821+00	cli:root	cli	document.add	definition	3	{"document": 1, "name": "po.txt", "size": 20}
\.


--
-- Data for Name: certificate_authorities; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.certificate_authorities (id, name, kind, status, subject, key_type, sealed_key, certificate_id, csr_pem, crl_number, created_at) FROM stdin;
1	O=certmgr,CN=certmgr Private Root CA 20261204-215422	root	active	O=certmgr,CN=certmgr Private Root CA 20261204-215422	ec-p384	\\x434d31096b653036343063663923df84d07523e1787753376c83492f76205b706372f564eb8f48c80538ede93be3be8259e00bf418bb5b9f60937cf1b1a51d00f79f1abe2677a33a2597a5cf1aa3abcdfd420030d52e78387abe92740d6b4d807e878bab8eb8af80874cbe79d3add473c1db5033d2cebbe81842551eda768e5a6ce6a5588506a75d764372c70a1abe6434d1b3d1e6e00f6a016b7231510433de6923271b1502d2942459370362e1d8cc22077397f07c88ab8ab90701040a80233bc5c318ca9b748f64d0448f8eaf264188a8a0a01239b5aff6e283e5957d7a8103cb	1		1	2026-12-04 21:54:22.582739+00
\.


--
-- Data for Name: certificate_chain; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.certificate_chain (certificate_id, "position", ca_certificate_id) FROM stdin;
2	0	1
4	0	3
5	0	1
6	0	1
\.


--
-- Data for Name: certificate_definitions; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.certificate_definitions (id, name, common_name, organization, organizational_unit, locality, state, country, sans, key_type, issuer_kind, requirements, product_id, acme_account_id, requestor, renewal_policy, notes, current_certificate_id, archived, created_at, updated_at, auto_deploy, vendor_account_id, held_certificate_id, switch_at) FROM stdin;
1	certmgr console	localhost						["localhost", "127.0.0.1", "::1", "vm"]	ec-p256	private-ca	{}	\N	\N		{}	The controller's own HTTPS certificate (install target 'certmgr').	2	f	2026-12-04 21:54:22.923053+00	2026-12-04 21:54:22.935847+00	t	\N	\N	\N
2	web	leaf-A						["localhost", "127.0.0.1", "::1"]	ec-p256	vendor	{}	\N	\N		{}	Imported from fullchainA.pem	4	f	2026-12-04 21:54:23.085432+00	2026-12-04 21:54:23.085432+00	t	\N	\N	\N
3	intranet	intranet.example.test						["intranet.example.test"]	ec-p256	private-ca	{}	\N	\N		{}		5	f	2026-12-04 21:54:23.20672+00	2026-12-04 21:54:23.406292+00	t	\N	\N	\N
4	mail	mail.example.test						["mail.example.test"]	rsa-2048	private-ca	{}	\N	\N		{}		6	f	2026-12-04 21:54:23.498726+00	2026-12-04 21:54:23.956113+00	t	\N	\N	\N
\.


--
-- Data for Name: certificate_requests; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.certificate_requests (id, definition_id, kind, status, issuer_kind, private_key_id, csr_pem, product_id, vendor_account_id, order_date, order_number, tracking_notes, certificate_id, replaces_certificate_id, last_error, attempts, next_attempt_at, created_by, created_at, updated_at, acme_account_id, acme_order_url, key_on_agent, extra) FROM stdin;
1	3	new	done	private-ca	3	-----BEGIN CERTIFICATE REQUEST-----\nMIIBDjCBtQIBADAgMR4wHAYDVQQDDBVpbnRyYW5ldC5leGFtcGxlLnRlc3QwWTAT\nBgcqhkjOPQIBBggqhkjOPQMBBwNCAASuKsfAPvCoz5KVjlLf4WKUW8GgbQTu/C3Z\ndFndKw53v5ESYQjiJGnDJJxTajqmvGU9+n0Is56ddunZtF1QjIt0oDMwMQYJKoZI\nhvcNAQkOMSQwIjAgBgNVHREEGTAXghVpbnRyYW5ldC5leGFtcGxlLnRlc3QwCgYI\nKoZIzj0EAwIDSAAwRQIgWr/vSIFMkj4JQFivihpsRyWtCe5NJjDEIuTrcybPezgC\nIQDDKfE/a71jbLX9FI3KAVUzorRz/ndHtXjAeNpLtPMzQQ==\n-----END CERTIFICATE REQUEST-----\n	\N	\N	\N			5	\N		0	\N	cli:root	2026-12-04 21:54:23.309961+00	2026-12-04 21:54:23.406547+00	\N		f	{}
2	4	new	done	private-ca	4	-----BEGIN CERTIFICATE REQUEST-----\nMIICkDCCAXgCAQAwHDEaMBgGA1UEAwwRbWFpbC5leGFtcGxlLnRlc3QwggEiMA0G\nCSqGSIb3DQEBAQUAA4IBDwAwggEKAoIBAQCkZ8/xcZM+BKk4qxg0hgatKgZRGl9N\noS0rcrBZD6rq8z3iGVAEGI7nZibn3UnYvoutEq59TuYQb5vm5RNpIzdGHReqQFdl\nddaxBd3im1G6QCFLIzv0SWlkuTXOvNTJEfuTqDhPyjZMesieled8dFKnfyP5fEy4\n/Jsn+81KzHnFehNmCO/muniwE9JGiVNHvATJZlyDBVoQz6+MRCz7jh7KfXuE9/k6\nDmb7V5F0kkZdu/gY6QHOzfnq62Vv4tMGJ9yn0MnxOJBZXCPtnFDg1LHbmmGwoG99\nDUZoM9wOk27/HR3SBt0f2eTjr4AUgZi85aNZCsK/iijK45CaiM2VEiG3AgMBAAGg\nLzAtBgkqhkiG9w0BCQ4xIDAeMBwGA1UdEQQVMBOCEW1haWwuZXhhbXBsZS50ZXN0\nMA0GCSqGSIb3DQEBCwUAA4IBAQCSXgDcHwNw+IZaUTRIug5ycB24N0ApiWw77RTz\nu8AA2mjquIPeRQ2FFx9XS9fFff2snXu/eMZrtNBXm0+L64Nw37xzso9aUnfMdVJy\nBFZzs9/oHy/hlsX5c9HGTTh4fmH518wuRt5AKVMsD2OYZsbViHhWrClknt5aJ1kz\n4S3vVhoRPMLppT6htAoc7mvBnrQx2cxc8Lcp0phQcmq+fCOctWL32aaD1RADqWL0\na/AKBwm7S8TwIVdYDo1Rm+6AfCEoFDLju63Sc4bTuMITbEFvIZvaxxYSxMfqmVUZ\nr3MjQRRP84OlU0Fw70v1sqNoje7fOUb43sCDfz/1bptEq4Zg\n-----END CERTIFICATE REQUEST-----\n	\N	\N	\N			6	\N		0	\N	cli:root	2026-12-04 21:54:23.855918+00	2026-12-04 21:54:23.95629+00	\N		f	{}
\.


--
-- Data for Name: certificates; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.certificates (id, definition_id, private_key_id, der, sha256, sha1, public_key_sha256, serial_hex, subject, common_name, issuer, sans, not_before, not_after, key_label, is_ca, self_signed, source, created_at, signature_problem) FROM stdin;
1	\N	\N	\\x3082022a308201b0a003020102021448cb8c6f81f614d47bd5a12ba6e93e825a4bd1dc300a06082a8648ce3d04030330443130302e06035504030c27636572746d6772205072697661746520526f6f742043412032303236313230342d3231353432323110300e060355040a0c07636572746d6772301e170d3236313230343231343932325a170d3336313230313231353432325a30443130302e06035504030c27636572746d6772205072697661746520526f6f742043412032303236313230342d3231353432323110300e060355040a0c07636572746d67723076301006072a8648ce3d020106052b8104002203620004a72ea645ad8e430f63f2b3b395900466ebd81201c6af92d099f2905b632cfa0cef9775ffa412616515451ecd4d2e7820a9c47cd539fcd33452565a337c29d0d6a2f0711189830121007d2c001b5c2b7cbd653f0cccb6ab3d88369435dcdd9e7da3633061300f0603551d130101ff040530030101ff300e0603551d0f0101ff040403020186301d0603551d0e04160414ec4708f645e2b3fb853d08db04f3a72a97d8d1b8301f0603551d23041830168014ec4708f645e2b3fb853d08db04f3a72a97d8d1b8300a06082a8648ce3d040303036800306502305b4c3604decafc383b7e65324a01ce89c44b4dab071c47dc8fd65dccdb0a6eb4a54f3c8545fb180370354e2831090263023100d841bceb5ee1f48555c58d13ca31e3099b31a42c450046391b2d9efe275a3e8052dd4c0524e9e2d41f1a73c496435d26	257c773f08d5d5cdfe60c1c87195edc921e1ab446aeeb1e932052772d2dec304	bdae923b6a2aebb13cdf644c659f5acd4597b007	eb49365e67e796a740d763f484dc66a3763cd7c607eab1ebebfee6aff1325bfe	48cb8c6f81f614d47bd5a12ba6e93e825a4bd1dc	O=certmgr,CN=certmgr Private Root CA 20261204-215422	certmgr Private Root CA 20261204-215422	O=certmgr,CN=certmgr Private Root CA 20261204-215422	[]	2026-12-04 21:49:22+00	2036-12-01 21:54:22+00	EC P-384	t	t	issued	2026-12-04 21:54:22.582739+00	\N
2	1	1	\\x3082025b308201e1a003020102021445ddfd03c1fd46883a85245db993b56bb1850b36300a06082a8648ce3d04030330443130302e06035504030c27636572746d6772205072697661746520526f6f742043412032303236313230342d3231353432323110300e060355040a0c07636572746d6772301e170d3236313230343231343932325a170d3237303632323231353432325a30143112301006035504030c096c6f63616c686f73743059301306072a8648ce3d020106082a8648ce3d03010703420004dbee4d7b734b5494062a8f9844fe8133a093654862e32cef17ca09302e39e3985c9bece90d3d0b4df9f46f2c89169e3134cdd153834907ac46ae058e4fa9eddba381e03081dd300c0603551d130101ff04023000300e0603551d0f0101ff04040302078030130603551d25040c300a06082b0601050507030130300603551d110429302782096c6f63616c686f737487047f0000018710000000000000000000000000000000018202766d301d0603551d0e0416041477c426f73c7559fce9a14152173e59549e84db0d301f0603551d23041830168014ec4708f645e2b3fb853d08db04f3a72a97d8d1b830360603551d1f042f302d302ba029a027862568747470733a2f2f3132372e302e302e313a32333436362f706b692f63726c2f312e646572300a06082a8648ce3d040303036800306502305d98179303953f490281fef15a7b712363f5f96ac52b2badb5e12e7a714fa857ab0baf30728b3acfd49fef638d249ae90231009f2f0d98d12cd47b791facfa0f4ae925569dca6351661f01927fb1e95c5d913b5df539f8eb233cad6ca4ba8e3f798b7f	9937e6fdbeae93ff9860164dba5b7421b1b5f4d0f8f33bdde8b14de9f8c252f4	80b0a82a9a201f79bdeeeca4c81f3de8621c3339	48b4be6564542838dfd9b359b38949716aa9288542cf837853b56fda27197bef	45ddfd03c1fd46883a85245db993b56bb1850b36	CN=localhost	localhost	O=certmgr,CN=certmgr Private Root CA 20261204-215422	["localhost", "127.0.0.1", "::1", "vm"]	2026-12-04 21:49:22+00	2027-06-22 21:54:22+00	EC P-256	f	f	issued	2026-12-04 21:54:22.935847+00	\N
3	\N	\N	\\x308201993082013ea00302010202146339e502b74a7322be095664deb4e086c88b33aa300a06082a8648ce3d04030230143112301006035504030c095465737420526f6f74301e170d3236313230343230353432335a170d3237303630323231353432335a301c311a301806035504030c115465737420496e7465726d6564696174653059301306072a8648ce3d020106082a8648ce3d030107034200047199992d389331e2aa6c1269da1a20fff843aa70ab10f8b766ead3f61f680f4d2f628de556932b06cdb15d009beb67df34afa168138131fe0058b9637125df2ca366306430120603551d130101ff040830060101ff020100300e0603551d0f0101ff040403020186301d0603551d0e04160414a6c95e797c8d86f5ac7802d26968be1adbc5814b301f0603551d23041830168014020d8d1a17ec6ae31a20ea6101fb58b10112b18d300a06082a8648ce3d0403020349003046022100c963e74ce7b0604947e7ee9220c9c8ea3d787b62e461e45df6004dbbd74f0014022100c596e9378d694d2f477ea98bd218d5c8df4d2d3e5d7e689e9d85314df66909f7	d14dd139b4a0ebad212f273e577f7e4c80865f32c140bcaaea3a512ce16df5eb	98c5156c055c3583ae92e3730bfe7aa1318749eb	1d1258f3a912313b375ffb1b0519074bbf46dfae066a3904df717bf2e64bb86b	6339e502b74a7322be095664deb4e086c88b33aa	CN=Test Intermediate	Test Intermediate	CN=Test Root	[]	2026-12-04 20:54:23+00	2027-06-02 21:54:23+00	EC P-256	t	f	imported	2026-12-04 21:54:23.085432+00	\N
4	2	2	\\x308201c43082016aa003020102021408d5c9a3ac0274c3e7fda0ee4288a24b34e0d03a300a06082a8648ce3d040302301c311a301806035504030c115465737420496e7465726d656469617465301e170d3236313230343230353432335a170d3237303130333231353432335a3011310f300d06035504030c066c6561662d413059301306072a8648ce3d020106082a8648ce3d03010703420004de2777ca3d6c12d7cf16c3daad6b9b98f46c7d5724930a7c361e01c1d878c46e53669e1e46cd5c7e51f75bd98538c6edb3c8730eca019c86169aefcb7793d07aa38194308191300c0603551d130101ff0402300030130603551d25040c300a06082b06010505070301301d0603551d0e04160414dfcbc69e18340dbaaa69f468041a772209fb428a301f0603551d23041830168014a6c95e797c8d86f5ac7802d26968be1adbc5814b302c0603551d110425302382096c6f63616c686f737487047f000001871000000000000000000000000000000001300a06082a8648ce3d0403020348003045022100c6f0678b4719f0231c86b6f526b3919a929b019e6ab65e3d42475d8dda44fb3e0220330a4335af97f7ea8308aa18247c593b6086e7a082d557bdac016c0f8fa72a44	c64514f280affb4fd82b97a34ae0224129441cd0e89b6bf700972957015b40e0	6301757d2d226ad341e367c6995340a58ce250bb	982e87fb66412e5fe9920a5930e6504361a785af6045bd32d08134defccd9431	8d5c9a3ac0274c3e7fda0ee4288a24b34e0d03a	CN=leaf-A	leaf-A	CN=Test Intermediate	["localhost", "127.0.0.1", "::1"]	2026-12-04 20:54:23+00	2027-01-03 21:54:23+00	EC P-256	f	f	imported	2026-12-04 21:54:23.085432+00	\N
5	3	3	\\x30820257308201dda003020102021460ce8a81d9d4872562ffb0e50a57bc95ebb62591300a06082a8648ce3d04030330443130302e06035504030c27636572746d6772205072697661746520526f6f742043412032303236313230342d3231353432323110300e060355040a0c07636572746d6772301e170d3236313230343231343932335a170d3237303632323231353432335a3020311e301c06035504030c15696e7472616e65742e6578616d706c652e746573743059301306072a8648ce3d020106082a8648ce3d03010703420004ae2ac7c03ef0a8cf92958e52dfe162945bc1a06d04eefc2dd97459dd2b0e77bf91126108e22469c3249c536a3aa6bc653dfa7d08b39e9d76e9d9b45d508c8b74a381d03081cd300c0603551d130101ff04023000300e0603551d0f0101ff04040302078030130603551d25040c300a06082b0601050507030130200603551d11041930178215696e7472616e65742e6578616d706c652e74657374301d0603551d0e0416041451cc56aaa436adb492e19ebb723d706911107df5301f0603551d23041830168014ec4708f645e2b3fb853d08db04f3a72a97d8d1b830360603551d1f042f302d302ba029a027862568747470733a2f2f3132372e302e302e313a32333436362f706b692f63726c2f312e646572300a06082a8648ce3d0403030368003065023100c8e50c62f940f53def24c470c654c654e2a68c6e6e00b671daea3aee739ac5dc32ce25ef0236c2499655d8922cd16be10230104101c550d58e5097aef489437ee8548ad982daa131f7e4ba2ec037859033490c5ec0fa844524817923f2fef6f3ea18	06c9a8489bd58baf30820d670667332b3e7130c6454ee31600ff781d111b1404	28ad31288889204e690ebfde8830c0db44d9575b	cbe7d048747360bb131691b2e45c7ff8266d303e13664be6b093950a52e217c4	60ce8a81d9d4872562ffb0e50a57bc95ebb62591	CN=intranet.example.test	intranet.example.test	O=certmgr,CN=certmgr Private Root CA 20261204-215422	["intranet.example.test"]	2026-12-04 21:49:23+00	2027-06-22 21:54:23+00	EC P-256	f	f	issued	2026-12-04 21:54:23.347696+00	\N
6	4	4	\\x30820319308202a0a00302010202144338ecd78a55bd7ffa2ef19e15e148645998d20c300a06082a8648ce3d04030330443130302e06035504030c27636572746d6772205072697661746520526f6f742043412032303236313230342d3231353432323110300e060355040a0c07636572746d6772301e170d3236313230343231343932335a170d3237303632323231353432335a301c311a301806035504030c116d61696c2e6578616d706c652e7465737430820122300d06092a864886f70d01010105000382010f003082010a0282010100a467cff171933e04a938ab18348606ad2a06511a5f4da12d2b72b0590faaeaf33de2195004188ee76626e7dd49d8be8bad12ae7d4ee6106f9be6e513692337461d17aa40576575d6b105dde29b51ba40214b233bf4496964b935cebcd4c911fb93a8384fca364c7ac89e95e77c7452a77f23f97c4cb8fc9b27fbcd4acc79c57a136608efe6ba78b013d246895347bc04c9665c83055a10cfaf8c442cfb8e1eca7d7b84f7f93a0e66fb57917492465dbbf818e901cecdf9eaeb656fe2d30627dca7d0c9f13890595c23ed9c50e0d4b1db9a61b0a06f7d0d466833dc0e936eff1d1dd206dd1fd9e4e3af80148198bce5a3590ac2bf8a28cae3909a88cd951221b70203010001a381cc3081c9300c0603551d130101ff04023000300e0603551d0f0101ff0404030205a030130603551d25040c300a06082b06010505070301301c0603551d110415301382116d61696c2e6578616d706c652e74657374301d0603551d0e04160414e88d825bdb8b2dfb7f61447cfce88c536e116a0a301f0603551d23041830168014ec4708f645e2b3fb853d08db04f3a72a97d8d1b830360603551d1f042f302d302ba029a027862568747470733a2f2f3132372e302e302e313a32333436362f706b692f63726c2f312e646572300a06082a8648ce3d040303036700306402304a9dc72043d901296c63caf3c3b45e761f8a05eda9776b7770df3cd2d65be8775702d5bd9a100d8a7bc1aca312c6d192023035da282c6a195710e2ddf15f7bd13957e25d3feb4ee3686ec4fa286332a49d321efc2df3cdb39861cdc037f5268670ee	3bb39cf3130051d5170be7c9732ea8bf0b75bb8e42536b616802acc6ec3e8185	7a25f3f3fcdbd2633dcfef5e75d060675cfc1924	e45f71e5caf3669c025f24f6ca4356511d9dbd7ccde7effbd140240be7c0752b	4338ecd78a55bd7ffa2ef19e15e148645998d20c	CN=mail.example.test	mail.example.test	O=certmgr,CN=certmgr Private Root CA 20261204-215422	["mail.example.test"]	2026-12-04 21:49:23+00	2027-06-22 21:54:23+00	RSA 2048	f	f	issued	2026-12-04 21:54:23.892736+00	\N
\.


--
-- Data for Name: check_challenges; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.check_challenges (id, deployment_id, nonce, issued_by, issued_at, expires_at, used_at, used_by, check_result_id) FROM stdin;
\.


--
-- Data for Name: check_results; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.check_results (id, deployment_id, at, source, ok, reachable, served_sha256, matches_current, chain_complete, chain_in_order, hostname_matches, days_left, error, detail) FROM stdin;
\.


--
-- Data for Name: console_sessions; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.console_sessions (id, id_sha256, user_id, address, created_at, last_seen_at, revoked_at) FROM stdin;
\.


--
-- Data for Name: deployment_events; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.deployment_events (id, deployment_id, at, actor, event, message, detail) FROM stdin;
1	1	2026-12-04 21:54:24.079271+00	cli:root	created	deployment to intranet.example.test (nginx, conventional)	{}
\.


--
-- Data for Name: deployments; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.deployments (id, definition_id, name, common_name, server_name, check_host, check_port, sni, starttls, target_type, target_params, delivery, admin_email, monitoring, status, certificate_id, agent_id, sequence, notes, created_at, updated_at, production, sealed_receipt_key, receipt_used, last_check_id, consecutive_failures) FROM stdin;
1	3	intranet.example.test	intranet.example.test	intranet.example.test	127.0.0.1	9	intranet.example.test		nginx	{}	conventional		t	draft	\N	\N	0		2026-12-04 21:54:24.05613+00	2026-12-04 21:54:24.05613+00	t	\N	f	\N	0
\.


--
-- Data for Name: documents; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.documents (id, definition_id, filename, stored_name, content_type, size, sha256, kind, uploaded_by, created_at, owner_user_id) FROM stdin;
1	3	po.txt	0b936d8c22c5bd719fb26d090627dae9	application/octet-stream	20	2c01e645961cd4b1b733c210d279cda949357472f5ecf4e8e35f09899ed9f2c3	upload	cli:root	2026-12-04 21:54:24.690817+00	\N
\.


--
-- Data for Name: download_links; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.download_links (id, token_sha256, document_id, deployment_id, expires_at, downloads, created_at) FROM stdin;
\.


--
-- Data for Name: enrollment_tokens; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.enrollment_tokens (id, secret_sha256, name_hint, auto_approve, expires_at, used_at, agent_id, created_by, created_at) FROM stdin;
1	1571c018fdd9bbc7cc8bcbc2adc5814ae06c5f9c976aa76bc9605e56bca25a4a	web01	t	2026-12-05 21:54:24.655994+00	\N	\N	cli:root	2026-12-04 21:54:24.655994+00
\.


--
-- Data for Name: findings; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.findings (id, kind, key, definition_id, deployment_id, severity, message, state, opened_at, cleared_at, digested_open, digested_clear, notified) FROM stdin;
\.


--
-- Data for Name: job_leases; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.job_leases (name, holder, lease_until, next_run_at, last_started_at, last_finished_at, last_result, last_error, last_duration_ms, runs, failures, progress) FROM stdin;
\.


--
-- Data for Name: outbox; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.outbox (id, channel, target, subject, body, kind, state, attempts, next_attempt_at, last_error, created_at, webhook_id, sent_email_id) FROM stdin;
\.


--
-- Data for Name: private_keys; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.private_keys (id, algorithm, size, key_type, public_sha256, origin, sealed_pkcs8, created_at) FROM stdin;
1	EC	256	ec-p256	48b4be6564542838dfd9b359b38949716aa9288542cf837853b56fda27197bef	generated	\\x434d31096b6530363430636639476b13874fde01e01ce147b9ca221ea2c7b78838698c801b908ee2efa21eee305d8c32829890ed1ba4047ab270850b828982cf028fd1f9528ec72f8ca5a6481948896ad8092a280a82d4df060b25a9b986ca544523ee25412ff62f8bfb5b8a9b118ca82a878afc02d8fe92e26464d822de099222795dac92bbfe3bcb173c197ee54ee95fc18ce51565ba6a048cc031e1768dd9abb6c72a4b218fa101dffe4f26fb12b036fd71	2026-12-04 21:54:22.935847+00
2	EC	256	ec-p256	982e87fb66412e5fe9920a5930e6504361a785af6045bd32d08134defccd9431	imported	\\x434d31096b65303634306366397ed125c617ea0c079e70a54fceed3e4a1a1a1c9dfaf09649f948286c4818d3b48df030048f6a08e5638fded05519e3e2e840b95867bdb656e707b17ae57ff23ccdc8f775670fef053f9ca08504719a71e1a613e5877becceb672ad9494cd296d2f81333e7e6ef97839908f7a480aa1350fca8b91e7f0a99ead6f37dc0b9d464729df8d9375175cf2f55a648cd5c453c10a91971f919a9230a3b2791b77d20017de0bbcb14989	2026-12-04 21:54:23.085432+00
3	EC	256	ec-p256	cbe7d048747360bb131691b2e45c7ff8266d303e13664be6b093950a52e217c4	generated	\\x434d31096b6530363430636639579d136d93c6d7516de4ecd73c4eec0acacf72a1d15b202c5dc14f612cc5117ab8979c1e0782a50a035e340bc9cfa7055de310de88660e62842bd8c3c55c4cddeec6c8113b896b6827b4c4c224d5067e02f4bae28182ba4c5e81b51215eab0bed2a729ea1c13801c7e07d38d7237cdd36b6e0db781f3513a12fd9671eca663e564ea74479476c94f18c12327dd5071acd6210caad13db6b6565c45976efbcd82a34ab2be17fe	2026-12-04 21:54:23.301774+00
4	RSA	2048	rsa-2048	e45f71e5caf3669c025f24f6ca4356511d9dbd7ccde7effbd140240be7c0752b	generated	\\x434d31096b65303634306366396a2f9dc5b7af401cb2d7d95ac629fee9b07c8ba963847ab9be646ae9674f7fe62d53db919cf31f65fd8d730b16587fc9cfd9e88dd3bf344eaf662ce186f2e39143940526f7b5a9736ae2a68e398844e43f6b40eac1e01c32a6196a39f77da532e33b164a848dfa4f7ea77d8773f01769c716f645263664e8c7ee2065322534f4a5af5e6c38949e0403423b845cb35513f5ceab49031ea90102d8fd0452b79bd14f927bf6f3b81dfcbffb456b45e1d94e5796e07a9b8bd8231a35b39b354e3ac4827ebc773a69c67c7a1b24100543435813b1c4638c680b7118e13cb89872f1d8f712232caba2aa9359c0939d5225cb43fc57641a9568e6cec3abee39c205bf307ba4bf1bca2af23335eafd69e4a3938aa5532177f93bb6678633c16fb5552cebd24c1aadbd21f9a2b6df4b061f015bfbe15ff9bedd9b36d1e1424889314809a6236837b9d86cacec03428579734daf2c459114b52972091020249a2bee56e90e3ba64ebfcad112da2ba513078f34c7762cee03dbecb819f5143ac44dfd925e2558e6382925e793419f3b37f82c6edacafb62c95e856a15645aae9894a5fd398d43c28b6933e5a9a6c693f35929bec4fce24b8db522b868e67603a5e22379b254d909f237dc70607fb82c8a45c1e97a38f4642eca329619974cd52481ad7cc8bd15367e285be9105d6a655d867e16a8f275cbbba0786b137bd7af3aa5812f1f03d9887868d8ce45862acc9d00a820e6a35f6d63bfb0e75c197fa7fd644bc7fc2cad0e3b6bad02e0ed060e9a30796027c813abc578586410a88bbac8ea339a2d94e943c9bd56e28c2afa278caccc28433b786ac61700501412a9a41f1f0688779e191e4981439357de555a60373230ac89dc3ee4543df8b0d81d7d486107384aac6a004d7bdb924a5da2f0c6a94e0b6774e6415140c7b36bc5c530726111052486c77db0d704dca360620d9470a745fd2537784b8e0f66582466cbad271c4e4af529f2a99bd1da4ceb77f8465ce20c2bf7457f74f82a55f280b6bbacc2c26ad272df0ded0fe313d9dccefb06e87c4fcbfda7a6fc14c6d6be05df8281dc620c60ad0810e96b3cab826c76b728c3271e3216e0977044bae0b880e0a283c07404f9f1cd7fb5649bbdc81705569fa1a3584d6fe64228d4a533ebbeb81fae506353f5309f8e4a3253fceb938b216b669dc97a9e266b52563ba1a0ff3e09b94661f3cbb57f244a2e52cf5315037ae1038f00714379a63c645e4c5f69416fd9b359c274e33bbf68477066525ab877181170d7fd0704fd7037202e43dd9cfc77ea0a4d22ccf72464e29157cf70eb629a507ed5733a7c8c3ea792fbb20f77314021a15b4b0ce061fb17bbd538b941c9d0280be83f6914a7dcf2dbdad10719be184e46353fa595b85f4dc0dc44f787e3ce8800409dbeb3a9d422a1fb7962f48bdba8c0556fcb8ac7e3dd904cec74a25f919eb5c7e1665428f0b9a40e090393c051a7442c5fd45b796f79b005bc3a3eaddf3667b909961e5731da100374dca4955a4fbe9843aa43a613116c684ec72058a26b4a290e92a48b7b1a130bc1cfd20f5c092b1d2d23e030ccff8b1a6c8881847aeaf309330e90c1a89ab006a130050cd20431c2ff3bb5605175a1df8b3c404c84199b039b57cec9f81b13256581a18dd03eb7030fe66950b10d9be25b70b6b7a61363381eccbf01afdd12f85045d36601479c19402aac472f203c93cc71aac0841c2a0ca39decc3cec62da8031e89cf6c72	2026-12-04 21:54:23.85+00
\.


--
-- Data for Name: request_events; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.request_events (id, request_id, at, actor, event, message, detail) FROM stdin;
1	1	2026-12-04 21:54:23.318207+00	cli:root	created	new request for intranet (private-ca)	{}
2	1	2026-12-04 21:54:23.333987+00	cli:root	key-and-csr	generated EC P-256 key #3 and CSR	{"from": "draft"}
3	1	2026-12-04 21:54:23.406152+00	cli:root	received	certificate received: serial 60ce8a81d9d4872562ffb0e50a57bc95ebb62591, expires 2027-06-22, SHA-256 06c9a8489bd58baf30820d670667332b3e7130c6454ee31600ff781d111b1404	{"from": "key-and-csr", "certificate": 5}
4	1	2026-12-04 21:54:23.406405+00	cli:root	current-switched	certificate #5 is now current	{"from": "received"}
5	1	2026-12-04 21:54:23.406552+00	cli:root	done	done	{"from": "current-switched"}
6	2	2026-12-04 21:54:23.860506+00	cli:root	created	new request for mail (private-ca)	{}
7	2	2026-12-04 21:54:23.879057+00	cli:root	key-and-csr	generated RSA 2048 key #4 and CSR	{"from": "draft"}
8	2	2026-12-04 21:54:23.955967+00	cli:root	received	certificate received: serial 4338ecd78a55bd7ffa2ef19e15e148645998d20c, expires 2027-06-22, SHA-256 3bb39cf3130051d5170be7c9732ea8bf0b75bb8e42536b616802acc6ec3e8185	{"from": "key-and-csr", "certificate": 6}
9	2	2026-12-04 21:54:23.95619+00	cli:root	current-switched	certificate #6 is now current	{"from": "received"}
10	2	2026-12-04 21:54:23.956296+00	cli:root	done	done	{"from": "current-switched"}
\.


--
-- Data for Name: revocations; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.revocations (id, ca_id, serial_hex, certificate_id, reason, revoked_at, revoked_by) FROM stdin;
\.


--
-- Data for Name: sent_emails; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.sent_emails (id, at, kind, "to", subject, body, result, error, entity_type, entity_id, attempts) FROM stdin;
\.


--
-- Data for Name: settings; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.settings (key, value, sealed, updated_at, updated_by) FROM stdin;
metrics	{}	\\x434d31096b6530363430636639de1ebd299855028c77d1b6f8afa220532a9eaaad98bd19ca397ae79bf9d264d1508998071ed572083a48a984454e00794e7a180e1f64e700939918c7a55617fb0eae4bcf307346dbeb4eef	2026-12-04 21:54:22.91864+00	certmgr
controller-signing-key	{"key_id": "72633c0c844a6a729fa49f886278731f", "public_key": "osLyX+5rC0k27HfSYlB16hm2jpz6V5JQEeLC3F2m/RA=", "rotations": []}	\\x434d31096b6530363430636639dde820ec63b58abaa65e7c93bb2dce7733a8c1b6c39abc76f87e1b38fa2ebb680655e8855d06efaa5dabb45b3c32ded47cdf678c6fded40d0c1046bb	2026-12-04 21:54:24.652945+00	system
\.


--
-- Data for Name: sign_in_throttle; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.sign_in_throttle (id, address, username, failures, last_failure_at) FROM stdin;
\.


--
-- Data for Name: users; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.users (id, username, email, role, password_hash, must_change_password, disabled, created_at, password_changed_at, last_login_at) FROM stdin;
1	admin		admin	$argon2id$v=19$m=65536,t=3,p=4$3+/DBRezwDSd+GMcDNiROg$wZJM62VL2peAf8O5joljTKHVvZHodWDYXq46c1fdAjo	f	f	2026-12-04 21:54:22.901377+00	2026-12-04 21:54:22.901377+00	\N
2	operator		user	$argon2id$v=19$m=65536,t=3,p=4$rHTFxW6q6FV9btuDC8td5A$r4xZjza9GHr20+UxokoI9NMLHdS7nV3ycV36GFmsyXo	t	f	2026-12-04 21:54:24.419179+00	2026-12-04 21:54:24.419179+00	\N
\.


--
-- Data for Name: vendor_accounts; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.vendor_accounts (id, name, vendors, login_name, sealed_password, registered_email, notes, created_at) FROM stdin;
\.


--
-- Data for Name: webhooks; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.webhooks (id, url, sealed_secret, events, enabled, created_at) FROM stdin;
\.


--
-- Name: access_refusals_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.access_refusals_id_seq', 1, false);


--
-- Name: acme_accounts_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.acme_accounts_id_seq', 1, false);


--
-- Name: agent_work_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.agent_work_id_seq', 1, false);


--
-- Name: agents_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.agents_id_seq', 1, false);


--
-- Name: api_tokens_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.api_tokens_id_seq', 1, false);


--
-- Name: audit_events_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.audit_events_id_seq', 30, true);


--
-- Name: certificate_authorities_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.certificate_authorities_id_seq', 1, true);


--
-- Name: certificate_definitions_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.certificate_definitions_id_seq', 4, true);


--
-- Name: certificate_requests_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.certificate_requests_id_seq', 2, true);


--
-- Name: certificates_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.certificates_id_seq', 6, true);


--
-- Name: check_challenges_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.check_challenges_id_seq', 1, false);


--
-- Name: check_results_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.check_results_id_seq', 1, false);


--
-- Name: console_sessions_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.console_sessions_id_seq', 1, false);


--
-- Name: deployment_events_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.deployment_events_id_seq', 1, true);


--
-- Name: deployments_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.deployments_id_seq', 1, true);


--
-- Name: documents_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.documents_id_seq', 1, true);


--
-- Name: download_links_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.download_links_id_seq', 1, false);


--
-- Name: enrollment_tokens_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.enrollment_tokens_id_seq', 1, true);


--
-- Name: findings_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.findings_id_seq', 1, false);


--
-- Name: outbox_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.outbox_id_seq', 1, false);


--
-- Name: private_keys_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.private_keys_id_seq', 4, true);


--
-- Name: request_events_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.request_events_id_seq', 10, true);


--
-- Name: revocations_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.revocations_id_seq', 1, false);


--
-- Name: sent_emails_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.sent_emails_id_seq', 1, false);


--
-- Name: sign_in_throttle_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.sign_in_throttle_id_seq', 1, false);


--
-- Name: users_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.users_id_seq', 2, true);


--
-- Name: vendor_accounts_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.vendor_accounts_id_seq', 1, false);


--
-- Name: webhooks_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.webhooks_id_seq', 1, false);


--
-- Name: alembic_version alembic_version_pkc; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.alembic_version
    ADD CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num);


--
-- Name: access_refusals pk_access_refusals; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.access_refusals
    ADD CONSTRAINT pk_access_refusals PRIMARY KEY (id);


--
-- Name: acme_accounts pk_acme_accounts; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.acme_accounts
    ADD CONSTRAINT pk_acme_accounts PRIMARY KEY (id);


--
-- Name: acme_challenges pk_acme_challenges; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.acme_challenges
    ADD CONSTRAINT pk_acme_challenges PRIMARY KEY (token);


--
-- Name: agent_nonces pk_agent_nonces; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.agent_nonces
    ADD CONSTRAINT pk_agent_nonces PRIMARY KEY (agent_id, nonce);


--
-- Name: agent_work pk_agent_work; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.agent_work
    ADD CONSTRAINT pk_agent_work PRIMARY KEY (id);


--
-- Name: agents pk_agents; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.agents
    ADD CONSTRAINT pk_agents PRIMARY KEY (id);


--
-- Name: api_tokens pk_api_tokens; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.api_tokens
    ADD CONSTRAINT pk_api_tokens PRIMARY KEY (id);


--
-- Name: audit_events pk_audit_events; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.audit_events
    ADD CONSTRAINT pk_audit_events PRIMARY KEY (id);


--
-- Name: certificate_authorities pk_certificate_authorities; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.certificate_authorities
    ADD CONSTRAINT pk_certificate_authorities PRIMARY KEY (id);


--
-- Name: certificate_chain pk_certificate_chain; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.certificate_chain
    ADD CONSTRAINT pk_certificate_chain PRIMARY KEY (certificate_id, "position");


--
-- Name: certificate_definitions pk_certificate_definitions; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.certificate_definitions
    ADD CONSTRAINT pk_certificate_definitions PRIMARY KEY (id);


--
-- Name: certificate_requests pk_certificate_requests; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.certificate_requests
    ADD CONSTRAINT pk_certificate_requests PRIMARY KEY (id);


--
-- Name: certificates pk_certificates; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.certificates
    ADD CONSTRAINT pk_certificates PRIMARY KEY (id);


--
-- Name: check_challenges pk_check_challenges; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.check_challenges
    ADD CONSTRAINT pk_check_challenges PRIMARY KEY (id);


--
-- Name: check_results pk_check_results; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.check_results
    ADD CONSTRAINT pk_check_results PRIMARY KEY (id);


--
-- Name: console_sessions pk_console_sessions; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.console_sessions
    ADD CONSTRAINT pk_console_sessions PRIMARY KEY (id);


--
-- Name: deployment_events pk_deployment_events; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.deployment_events
    ADD CONSTRAINT pk_deployment_events PRIMARY KEY (id);


--
-- Name: deployments pk_deployments; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.deployments
    ADD CONSTRAINT pk_deployments PRIMARY KEY (id);


--
-- Name: documents pk_documents; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.documents
    ADD CONSTRAINT pk_documents PRIMARY KEY (id);


--
-- Name: download_links pk_download_links; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.download_links
    ADD CONSTRAINT pk_download_links PRIMARY KEY (id);


--
-- Name: enrollment_tokens pk_enrollment_tokens; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.enrollment_tokens
    ADD CONSTRAINT pk_enrollment_tokens PRIMARY KEY (id);


--
-- Name: findings pk_findings; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.findings
    ADD CONSTRAINT pk_findings PRIMARY KEY (id);


--
-- Name: job_leases pk_job_leases; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.job_leases
    ADD CONSTRAINT pk_job_leases PRIMARY KEY (name);


--
-- Name: outbox pk_outbox; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.outbox
    ADD CONSTRAINT pk_outbox PRIMARY KEY (id);


--
-- Name: private_keys pk_private_keys; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.private_keys
    ADD CONSTRAINT pk_private_keys PRIMARY KEY (id);


--
-- Name: request_events pk_request_events; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.request_events
    ADD CONSTRAINT pk_request_events PRIMARY KEY (id);


--
-- Name: revocations pk_revocations; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.revocations
    ADD CONSTRAINT pk_revocations PRIMARY KEY (id);


--
-- Name: sent_emails pk_sent_emails; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.sent_emails
    ADD CONSTRAINT pk_sent_emails PRIMARY KEY (id);


--
-- Name: settings pk_settings; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.settings
    ADD CONSTRAINT pk_settings PRIMARY KEY (key);


--
-- Name: sign_in_throttle pk_sign_in_throttle; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.sign_in_throttle
    ADD CONSTRAINT pk_sign_in_throttle PRIMARY KEY (id);


--
-- Name: users pk_users; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.users
    ADD CONSTRAINT pk_users PRIMARY KEY (id);


--
-- Name: vendor_accounts pk_vendor_accounts; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.vendor_accounts
    ADD CONSTRAINT pk_vendor_accounts PRIMARY KEY (id);


--
-- Name: webhooks pk_webhooks; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.webhooks
    ADD CONSTRAINT pk_webhooks PRIMARY KEY (id);


--
-- Name: access_refusals uq_access_refusals_source; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.access_refusals
    ADD CONSTRAINT uq_access_refusals_source UNIQUE (source, minute);


--
-- Name: acme_accounts uq_acme_accounts_name; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.acme_accounts
    ADD CONSTRAINT uq_acme_accounts_name UNIQUE (name);


--
-- Name: api_tokens uq_api_tokens_token_sha256; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.api_tokens
    ADD CONSTRAINT uq_api_tokens_token_sha256 UNIQUE (token_sha256);


--
-- Name: certificate_definitions uq_certificate_definitions_name; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.certificate_definitions
    ADD CONSTRAINT uq_certificate_definitions_name UNIQUE (name);


--
-- Name: certificates uq_certificates_sha256; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.certificates
    ADD CONSTRAINT uq_certificates_sha256 UNIQUE (sha256);


--
-- Name: check_challenges uq_check_challenges_nonce; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.check_challenges
    ADD CONSTRAINT uq_check_challenges_nonce UNIQUE (nonce);


--
-- Name: console_sessions uq_console_sessions_id_sha256; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.console_sessions
    ADD CONSTRAINT uq_console_sessions_id_sha256 UNIQUE (id_sha256);


--
-- Name: documents uq_documents_stored_name; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.documents
    ADD CONSTRAINT uq_documents_stored_name UNIQUE (stored_name);


--
-- Name: download_links uq_download_links_token_sha256; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.download_links
    ADD CONSTRAINT uq_download_links_token_sha256 UNIQUE (token_sha256);


--
-- Name: enrollment_tokens uq_enrollment_tokens_secret_sha256; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.enrollment_tokens
    ADD CONSTRAINT uq_enrollment_tokens_secret_sha256 UNIQUE (secret_sha256);


--
-- Name: private_keys uq_private_keys_public_sha256; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.private_keys
    ADD CONSTRAINT uq_private_keys_public_sha256 UNIQUE (public_sha256);


--
-- Name: revocations uq_revocations_ca_id; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.revocations
    ADD CONSTRAINT uq_revocations_ca_id UNIQUE (ca_id, serial_hex);


--
-- Name: sign_in_throttle uq_sign_in_throttle_address; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.sign_in_throttle
    ADD CONSTRAINT uq_sign_in_throttle_address UNIQUE (address, username);


--
-- Name: users uq_users_username; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.users
    ADD CONSTRAINT uq_users_username UNIQUE (username);


--
-- Name: vendor_accounts uq_vendor_accounts_name; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.vendor_accounts
    ADD CONSTRAINT uq_vendor_accounts_name UNIQUE (name);


--
-- Name: ix_access_refusals_minute; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_access_refusals_minute ON public.access_refusals USING btree (minute);


--
-- Name: ix_agent_nonces_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_agent_nonces_at ON public.agent_nonces USING btree (at);


--
-- Name: ix_agent_work_agent_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_agent_work_agent_id ON public.agent_work USING btree (agent_id);


--
-- Name: ix_agent_work_state; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_agent_work_state ON public.agent_work USING btree (state);


--
-- Name: ix_api_tokens_user_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_api_tokens_user_id ON public.api_tokens USING btree (user_id);


--
-- Name: ix_audit_events_action; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_audit_events_action ON public.audit_events USING btree (action);


--
-- Name: ix_audit_events_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_audit_events_at ON public.audit_events USING btree (at);


--
-- Name: ix_audit_events_entity; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_audit_events_entity ON public.audit_events USING btree (entity_type, entity_id);


--
-- Name: ix_certificate_chain_ca_certificate_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_certificate_chain_ca_certificate_id ON public.certificate_chain USING btree (ca_certificate_id);


--
-- Name: ix_certificate_requests_definition_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_certificate_requests_definition_id ON public.certificate_requests USING btree (definition_id);


--
-- Name: ix_certificate_requests_status; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_certificate_requests_status ON public.certificate_requests USING btree (status);


--
-- Name: ix_certificates_common_name; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_certificates_common_name ON public.certificates USING btree (common_name);


--
-- Name: ix_certificates_definition_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_certificates_definition_id ON public.certificates USING btree (definition_id);


--
-- Name: ix_certificates_not_after; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_certificates_not_after ON public.certificates USING btree (not_after);


--
-- Name: ix_certificates_private_key_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_certificates_private_key_id ON public.certificates USING btree (private_key_id);


--
-- Name: ix_certificates_public_key_sha256; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_certificates_public_key_sha256 ON public.certificates USING btree (public_key_sha256);


--
-- Name: ix_certificates_serial_hex; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_certificates_serial_hex ON public.certificates USING btree (serial_hex);


--
-- Name: ix_check_challenges_deployment_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_check_challenges_deployment_id ON public.check_challenges USING btree (deployment_id);


--
-- Name: ix_check_results_dep_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_check_results_dep_at ON public.check_results USING btree (deployment_id, at);


--
-- Name: ix_console_sessions_user_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_console_sessions_user_id ON public.console_sessions USING btree (user_id);


--
-- Name: ix_deployment_events_deployment_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_deployment_events_deployment_id ON public.deployment_events USING btree (deployment_id);


--
-- Name: ix_deployments_definition_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_deployments_definition_id ON public.deployments USING btree (definition_id);


--
-- Name: ix_deployments_status; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_deployments_status ON public.deployments USING btree (status);


--
-- Name: ix_documents_definition_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_documents_definition_id ON public.documents USING btree (definition_id);


--
-- Name: ix_findings_definition_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_findings_definition_id ON public.findings USING btree (definition_id);


--
-- Name: ix_findings_deployment_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_findings_deployment_id ON public.findings USING btree (deployment_id);


--
-- Name: ix_findings_key; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_findings_key ON public.findings USING btree (key);


--
-- Name: ix_findings_open; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_findings_open ON public.findings USING btree (state, kind);


--
-- Name: ix_outbox_state; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_outbox_state ON public.outbox USING btree (state);


--
-- Name: ix_request_events_request_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_request_events_request_id ON public.request_events USING btree (request_id);


--
-- Name: ix_revocations_ca_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_revocations_ca_id ON public.revocations USING btree (ca_id);


--
-- Name: ix_sent_emails_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_sent_emails_at ON public.sent_emails USING btree (at);


--
-- Name: ix_sign_in_throttle_last_failure_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_sign_in_throttle_last_failure_at ON public.sign_in_throttle USING btree (last_failure_at);


--
-- Name: agent_nonces fk_agent_nonces_agent_id_agents; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.agent_nonces
    ADD CONSTRAINT fk_agent_nonces_agent_id_agents FOREIGN KEY (agent_id) REFERENCES public.agents(id) ON DELETE CASCADE;


--
-- Name: agent_work fk_agent_work_agent_id_agents; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.agent_work
    ADD CONSTRAINT fk_agent_work_agent_id_agents FOREIGN KEY (agent_id) REFERENCES public.agents(id) ON DELETE CASCADE;


--
-- Name: agent_work fk_agent_work_deployment_id_deployments; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.agent_work
    ADD CONSTRAINT fk_agent_work_deployment_id_deployments FOREIGN KEY (deployment_id) REFERENCES public.deployments(id) ON DELETE CASCADE;


--
-- Name: agent_work fk_agent_work_request_id_certificate_requests; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.agent_work
    ADD CONSTRAINT fk_agent_work_request_id_certificate_requests FOREIGN KEY (request_id) REFERENCES public.certificate_requests(id) ON DELETE CASCADE;


--
-- Name: api_tokens fk_api_tokens_user_id_users; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.api_tokens
    ADD CONSTRAINT fk_api_tokens_user_id_users FOREIGN KEY (user_id) REFERENCES public.users(id) ON DELETE CASCADE;


--
-- Name: certificate_authorities fk_certificate_authorities_certificate_id_certificates; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.certificate_authorities
    ADD CONSTRAINT fk_certificate_authorities_certificate_id_certificates FOREIGN KEY (certificate_id) REFERENCES public.certificates(id);


--
-- Name: certificate_chain fk_certificate_chain_ca_certificate_id_certificates; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.certificate_chain
    ADD CONSTRAINT fk_certificate_chain_ca_certificate_id_certificates FOREIGN KEY (ca_certificate_id) REFERENCES public.certificates(id);


--
-- Name: certificate_chain fk_certificate_chain_certificate_id_certificates; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.certificate_chain
    ADD CONSTRAINT fk_certificate_chain_certificate_id_certificates FOREIGN KEY (certificate_id) REFERENCES public.certificates(id) ON DELETE CASCADE;


--
-- Name: certificate_definitions fk_certificate_definitions_current_certificate_id_certificates; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.certificate_definitions
    ADD CONSTRAINT fk_certificate_definitions_current_certificate_id_certificates FOREIGN KEY (current_certificate_id) REFERENCES public.certificates(id) ON DELETE SET NULL;


--
-- Name: certificate_requests fk_certificate_requests_certificate_id_certificates; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.certificate_requests
    ADD CONSTRAINT fk_certificate_requests_certificate_id_certificates FOREIGN KEY (certificate_id) REFERENCES public.certificates(id);


--
-- Name: certificate_requests fk_certificate_requests_definition_id_certificate_definitions; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.certificate_requests
    ADD CONSTRAINT fk_certificate_requests_definition_id_certificate_definitions FOREIGN KEY (definition_id) REFERENCES public.certificate_definitions(id) ON DELETE CASCADE;


--
-- Name: certificate_requests fk_certificate_requests_private_key_id_private_keys; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.certificate_requests
    ADD CONSTRAINT fk_certificate_requests_private_key_id_private_keys FOREIGN KEY (private_key_id) REFERENCES public.private_keys(id);


--
-- Name: certificate_requests fk_certificate_requests_replaces_certificate_id_certificates; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.certificate_requests
    ADD CONSTRAINT fk_certificate_requests_replaces_certificate_id_certificates FOREIGN KEY (replaces_certificate_id) REFERENCES public.certificates(id);


--
-- Name: certificates fk_certificates_definition_id_certificate_definitions; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.certificates
    ADD CONSTRAINT fk_certificates_definition_id_certificate_definitions FOREIGN KEY (definition_id) REFERENCES public.certificate_definitions(id) ON DELETE SET NULL;


--
-- Name: certificates fk_certificates_private_key_id_private_keys; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.certificates
    ADD CONSTRAINT fk_certificates_private_key_id_private_keys FOREIGN KEY (private_key_id) REFERENCES public.private_keys(id);


--
-- Name: check_challenges fk_check_challenges_deployment_id_deployments; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.check_challenges
    ADD CONSTRAINT fk_check_challenges_deployment_id_deployments FOREIGN KEY (deployment_id) REFERENCES public.deployments(id) ON DELETE CASCADE;


--
-- Name: check_results fk_check_results_deployment_id_deployments; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.check_results
    ADD CONSTRAINT fk_check_results_deployment_id_deployments FOREIGN KEY (deployment_id) REFERENCES public.deployments(id) ON DELETE CASCADE;


--
-- Name: console_sessions fk_console_sessions_user_id_users; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.console_sessions
    ADD CONSTRAINT fk_console_sessions_user_id_users FOREIGN KEY (user_id) REFERENCES public.users(id) ON DELETE CASCADE;


--
-- Name: deployment_events fk_deployment_events_deployment_id_deployments; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.deployment_events
    ADD CONSTRAINT fk_deployment_events_deployment_id_deployments FOREIGN KEY (deployment_id) REFERENCES public.deployments(id) ON DELETE CASCADE;


--
-- Name: deployments fk_deployments_certificate_id_certificates; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.deployments
    ADD CONSTRAINT fk_deployments_certificate_id_certificates FOREIGN KEY (certificate_id) REFERENCES public.certificates(id);


--
-- Name: deployments fk_deployments_definition_id_certificate_definitions; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.deployments
    ADD CONSTRAINT fk_deployments_definition_id_certificate_definitions FOREIGN KEY (definition_id) REFERENCES public.certificate_definitions(id) ON DELETE CASCADE;


--
-- Name: documents fk_documents_definition_id_certificate_definitions; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.documents
    ADD CONSTRAINT fk_documents_definition_id_certificate_definitions FOREIGN KEY (definition_id) REFERENCES public.certificate_definitions(id) ON DELETE CASCADE;


--
-- Name: download_links fk_download_links_deployment_id_deployments; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.download_links
    ADD CONSTRAINT fk_download_links_deployment_id_deployments FOREIGN KEY (deployment_id) REFERENCES public.deployments(id) ON DELETE CASCADE;


--
-- Name: download_links fk_download_links_document_id_documents; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.download_links
    ADD CONSTRAINT fk_download_links_document_id_documents FOREIGN KEY (document_id) REFERENCES public.documents(id) ON DELETE CASCADE;


--
-- Name: enrollment_tokens fk_enrollment_tokens_agent_id_agents; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.enrollment_tokens
    ADD CONSTRAINT fk_enrollment_tokens_agent_id_agents FOREIGN KEY (agent_id) REFERENCES public.agents(id) ON DELETE SET NULL;


--
-- Name: findings fk_findings_definition_id_certificate_definitions; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.findings
    ADD CONSTRAINT fk_findings_definition_id_certificate_definitions FOREIGN KEY (definition_id) REFERENCES public.certificate_definitions(id) ON DELETE CASCADE;


--
-- Name: findings fk_findings_deployment_id_deployments; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.findings
    ADD CONSTRAINT fk_findings_deployment_id_deployments FOREIGN KEY (deployment_id) REFERENCES public.deployments(id) ON DELETE CASCADE;


--
-- Name: outbox fk_outbox_sent_email_id_sent_emails; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.outbox
    ADD CONSTRAINT fk_outbox_sent_email_id_sent_emails FOREIGN KEY (sent_email_id) REFERENCES public.sent_emails(id) ON DELETE SET NULL;


--
-- Name: request_events fk_request_events_request_id_certificate_requests; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.request_events
    ADD CONSTRAINT fk_request_events_request_id_certificate_requests FOREIGN KEY (request_id) REFERENCES public.certificate_requests(id) ON DELETE CASCADE;


--
-- Name: revocations fk_revocations_ca_id_certificate_authorities; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.revocations
    ADD CONSTRAINT fk_revocations_ca_id_certificate_authorities FOREIGN KEY (ca_id) REFERENCES public.certificate_authorities(id);


--
-- Name: revocations fk_revocations_certificate_id_certificates; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.revocations
    ADD CONSTRAINT fk_revocations_certificate_id_certificates FOREIGN KEY (certificate_id) REFERENCES public.certificates(id);


--
-- PostgreSQL database dump complete
--

\unrestrict 2RdK3alPhWzteAnmh1VzYBnr8tKRjCI4GPbbcWtlqTfDNJgCjGVWcby5un3E0Rg

