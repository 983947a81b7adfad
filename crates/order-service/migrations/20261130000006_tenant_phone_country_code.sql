-- The shop's country calling code (pos_domain::CountryCode: 1 to 3 digits): a national phone
-- number becomes international with it, so it decides a customer's phone search key (issue
-- 18: customer sealing and blind indexes parameterised by the tenant's country). Set at
-- `admin create-tenant`, never changed (the stored phone keys were computed with it).
ALTER TABLE tenants ADD COLUMN phone_country_code text NOT NULL DEFAULT '62'
    CHECK (phone_country_code ~ '^[1-9][0-9]{0,2}$');
