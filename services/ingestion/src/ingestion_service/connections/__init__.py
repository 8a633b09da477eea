"""GA4 connections: a tenant's properties, their key dimensions and a connection test."""
