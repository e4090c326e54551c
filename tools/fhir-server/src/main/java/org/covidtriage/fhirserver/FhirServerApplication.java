package org.covidtriage.fhirserver;

import ca.uhn.fhir.batch2.jobs.config.Batch2JobsConfig;
import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.context.support.IValidationSupport;
import ca.uhn.fhir.jpa.api.config.JpaStorageSettings;
import ca.uhn.fhir.jpa.api.config.ThreadPoolFactoryConfig;
import ca.uhn.fhir.jpa.api.dao.DaoRegistry;
import ca.uhn.fhir.jpa.api.dao.IFhirSystemDao;
import ca.uhn.fhir.jpa.batch2.JpaBatch2Config;
import ca.uhn.fhir.jpa.binary.api.IBinaryStorageSvc;
import ca.uhn.fhir.jpa.binstore.DatabaseBinaryContentStorageSvcImpl;
import ca.uhn.fhir.jpa.config.r4.JpaR4Config;
import ca.uhn.fhir.jpa.config.util.HapiEntityManagerFactoryUtil;
import ca.uhn.fhir.jpa.config.util.ResourceCountCacheUtil;
import ca.uhn.fhir.jpa.dao.FulltextSearchSvcImpl;
import ca.uhn.fhir.jpa.dao.IFulltextSearchSvc;
import ca.uhn.fhir.jpa.dao.search.HSearchSortHelperImpl;
import ca.uhn.fhir.jpa.dao.search.IHSearchSortHelper;
import ca.uhn.fhir.jpa.model.config.PartitionSettings;
import ca.uhn.fhir.jpa.model.config.SubscriptionSettings;
import ca.uhn.fhir.jpa.provider.DaoRegistryResourceSupportedSvc;
import ca.uhn.fhir.jpa.provider.IJpaSystemProvider;
import ca.uhn.fhir.jpa.provider.JpaCapabilityStatementProvider;
import ca.uhn.fhir.jpa.search.DatabaseBackedPagingProvider;
import ca.uhn.fhir.jpa.search.IStaleSearchDeletingSvc;
import ca.uhn.fhir.jpa.search.StaleSearchDeletingSvcImpl;
import ca.uhn.fhir.jpa.subscription.channel.config.SubscriptionChannelConfig;
import ca.uhn.fhir.jpa.util.ResourceCountCache;
import ca.uhn.fhir.rest.api.EncodingEnum;
import ca.uhn.fhir.rest.api.IResourceSupportedSvc;
import ca.uhn.fhir.rest.server.RestfulServer;
import ca.uhn.fhir.rest.server.provider.ResourceProviderFactory;
import ca.uhn.fhir.rest.server.util.ISearchParamRegistry;
import ca.uhn.fhir.validation.FhirValidator;
import ca.uhn.fhir.validation.IInstanceValidatorModule;
import jakarta.persistence.EntityManagerFactory;
import jakarta.servlet.Filter;
import jakarta.servlet.http.HttpServletResponse;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.sql.DataSource;
import org.hl7.fhir.common.hapi.validation.support.UnknownCodeSystemWarningValidationSupport;
import org.hl7.fhir.common.hapi.validation.support.ValidationSupportChain;
import org.hl7.fhir.r4.model.DiagnosticReport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.config.ConfigurableListableBeanFactory;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.autoconfigure.ImportAutoConfiguration;
import org.springframework.boot.autoconfigure.context.PropertyPlaceholderAutoConfiguration;
import org.springframework.boot.autoconfigure.jdbc.DataSourceAutoConfiguration;
import org.springframework.boot.autoconfigure.web.embedded.EmbeddedWebServerFactoryCustomizerAutoConfiguration;
import org.springframework.boot.autoconfigure.web.servlet.ServletWebServerFactoryAutoConfiguration;
import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.boot.web.servlet.FilterRegistrationBean;
import org.springframework.boot.web.servlet.ServletRegistrationBean;
import org.springframework.context.ApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Import;
import org.springframework.context.annotation.Primary;
import org.springframework.context.event.EventListener;
import org.springframework.orm.jpa.JpaTransactionManager;
import org.springframework.orm.jpa.LocalContainerEntityManagerFactoryBean;

/**
 * HAPI FHIR JPA R4 server for local tests: H2 in memory, JSON, mounted at /fhir.
 * Mirrors the beans of hapi-fhir-jpaserver-starter (StarterJpaConfig / FhirServerConfigCommon),
 * minus subscriptions, CQL, MDM, IPS, the tester UI and Lucene/Elasticsearch.
 */
@SpringBootConfiguration
// Only the auto-configurations we need (embedded Tomcat + its server.tomcat.* properties, Hikari
// DataSource, ${} placeholders): full auto-configuration reacts to everything HAPI drags onto the
// classpath (it started an Elasticsearch client sniffing localhost:9200, Quartz, Thymeleaf, ...).
@ImportAutoConfiguration({
  PropertyPlaceholderAutoConfiguration.class, ServletWebServerFactoryAutoConfiguration.class,
  EmbeddedWebServerFactoryCustomizerAutoConfiguration.class, DataSourceAutoConfiguration.class
})
// Batch2 (used for $reindex when search parameters change) needs a message broker: SubscriptionChannelConfig
// supplies the in-memory one. Subscription matching/delivery itself is not imported.
// SecuredPortConfig: the HTTPS port that checks access tokens, when fhir.secure.port is set.
@Import({JpaR4Config.class, JpaBatch2Config.class, Batch2JobsConfig.class, ThreadPoolFactoryConfig.class,
  SubscriptionChannelConfig.class, SecuredPortConfig.class})
public class FhirServerApplication {

  private static final Logger log = LoggerFactory.getLogger(FhirServerApplication.class);
  private final AtomicBoolean ready = new AtomicBoolean();

  public static void main(String[] args) {
    SpringApplication.run(FhirServerApplication.class, args);
  }

  /** Test-friendly storage settings: every write is immediately visible to searches. */
  @Bean
  public JpaStorageSettings storageSettings() {
    JpaStorageSettings s = new JpaStorageSettings();
    s.setReuseCachedSearchResultsForMillis(null); // no stale cached search after a conditional create
    s.setAllowExternalReferences(true);
    s.setAutoCreatePlaceholderReferenceTargets(true);
    s.setExpungeEnabled(true);
    s.setDeleteExpungeEnabled(true);
    s.setAllowMultipleDelete(true);
    return s;
  }

  @Bean
  public PartitionSettings partitionSettings() {
    return new PartitionSettings();
  }

  @Bean
  public SubscriptionSettings subscriptionSettings() {
    return new SubscriptionSettings();
  }

  @Primary
  @Bean
  public LocalContainerEntityManagerFactoryBean entityManagerFactory(
      DataSource dataSource, ConfigurableListableBeanFactory beanFactory, FhirContext ctx, JpaStorageSettings settings) {
    LocalContainerEntityManagerFactoryBean emf =
        HapiEntityManagerFactoryUtil.newEntityManagerFactory(beanFactory, ctx, settings);
    emf.setPersistenceUnitName("HAPI_PU");
    emf.setDataSource(dataSource);
    Properties p = new Properties();
    p.put("hibernate.dialect", "ca.uhn.fhir.jpa.model.dialect.HapiFhirH2Dialect");
    p.put("hibernate.hbm2ddl.auto", "update"); // fresh in-memory DB: creates the schema
    p.put("hibernate.search.enabled", "false"); // no Lucene index; plain SQL search is enough
    emf.setJpaProperties(p);
    return emf;
  }

  @Primary
  @Bean
  public JpaTransactionManager transactionManager(EntityManagerFactory emf) {
    return new JpaTransactionManager(emf);
  }

  // Beans HAPI expects the application to provide (as the starter does).
  @Bean
  public IFulltextSearchSvc fulltextSearchSvc() {
    return new FulltextSearchSvcImpl();
  }

  @Bean
  public IStaleSearchDeletingSvc staleSearchDeletingSvc() {
    return new StaleSearchDeletingSvcImpl();
  }

  @Bean
  public IHSearchSortHelper hSearchSortHelper(ISearchParamRegistry registry) {
    return new HSearchSortHelperImpl(registry);
  }

  @Bean
  public DatabaseBackedPagingProvider pagingProvider() {
    return new DatabaseBackedPagingProvider();
  }

  @Bean
  public IResourceSupportedSvc resourceSupportedSvc(DaoRegistry daoRegistry) {
    return new DaoRegistryResourceSupportedSvc(daoRegistry);
  }

  @Bean(name = "myResourceCountsCache")
  public ResourceCountCache resourceCountsCache(IFhirSystemDao<?, ?> systemDao) {
    return ResourceCountCacheUtil.newResourceCountCache(systemDao);
  }

  @Bean
  public IBinaryStorageSvc binaryStorageSvc() {
    return new DatabaseBinaryContentStorageSvcImpl();
  }

  /**
   * Offline validation: there is no terminology server, so code systems we don't ship (LOINC,
   * SNOMED CT, ...) must give a warning, never an error. HAPI 8.8.0's JpaValidationSupportChain
   * (bundled R4 definitions, InMemoryTerminologyServerValidationSupport,
   * CommonCodeSystemsTerminologyService) already only warns; appending this pins that down and
   * also answers "is the code in the ValueSet?" for such systems instead of trying to expand it.
   */
  @Bean
  public Object unknownCodeSystemsAreWarnings(IValidationSupport chain, FhirContext ctx) {
    UnknownCodeSystemWarningValidationSupport unknown = new UnknownCodeSystemWarningValidationSupport(ctx);
    unknown.setNonExistentCodeSystemSeverity(IValidationSupport.IssueSeverity.WARNING);
    ((ValidationSupportChain) chain).addValidationSupport(unknown);
    return unknown;
  }

  /**
   * Answers 503 until start-up is really over, so that "GET /fhir/metadata is 200" means ready:
   * Tomcat opens its port before HAPI's ContextRefreshedEvent listeners (search parameter cache,
   * batch2 job registration, ...) and before the validator warm-up below have run.
   */
  @Bean
  public FilterRegistrationBean<Filter> readinessGate() {
    Filter gate = (req, res, chain) -> {
      if (ready.get()) {
        chain.doFilter(req, res);
      } else {
        ((HttpServletResponse) res).sendError(503, "FHIR server is starting");
      }
    };
    return new FilterRegistrationBean<>(gate);
  }

  /**
   * The first validation loads and snapshots the bundled R4 definitions (4-10 s on 2 busy cores):
   * pay that during start-up rather than in the first test that calls $validate.
   * -Dfhir.validator-warmup=false skips it.
   */
  @EventListener(ApplicationReadyEvent.class)
  public void warmUpValidatorThenOpen(ApplicationReadyEvent event) {
    ApplicationContext context = event.getApplicationContext();
    if (context.getEnvironment().getProperty("fhir.validator-warmup", Boolean.class, true)) {
      long t0 = System.currentTimeMillis();
      try {
        FhirValidator validator = context.getBean(FhirContext.class).newValidator();
        validator.registerValidatorModule(context.getBean("myInstanceValidator", IInstanceValidatorModule.class));
        DiagnosticReport report = new DiagnosticReport().setStatus(DiagnosticReport.DiagnosticReportStatus.FINAL);
        report.getCode().addCoding().setSystem("http://loinc.org").setCode("24627-2");
        validator.validateWithResult(report);
        log.info("Validator warmed up in {} ms", System.currentTimeMillis() - t0);
      } catch (RuntimeException e) {
        log.warn("Validator warm-up failed; the first $validate will be slow", e);
      }
    }
    ready.set(true);
    log.info("Accepting requests");
  }

  @Bean
  public ServletRegistrationBean<RestfulServer> fhirServlet(
      IFhirSystemDao<?, ?> systemDao, ResourceProviderFactory providers, IJpaSystemProvider systemProvider,
      JpaStorageSettings settings, ISearchParamRegistry searchParams, IValidationSupport validation,
      DatabaseBackedPagingProvider paging) {
    RestfulServer server = new RestfulServer(systemDao.getContext());
    server.registerProviders(providers.createProviders());
    server.registerProvider(systemProvider);
    server.setServerConformanceProvider(
        new JpaCapabilityStatementProvider(server, systemDao, settings, searchParams, validation));
    server.setPagingProvider(paging);
    server.setDefaultResponseEncoding(EncodingEnum.JSON);
    ServletRegistrationBean<RestfulServer> reg = new ServletRegistrationBean<>(server, "/fhir/*");
    reg.setLoadOnStartup(1); // initialise at start-up, so the first request isn't slow
    return reg;
  }
}
